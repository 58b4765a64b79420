"""Activity per account for the quarterly report: tasks/events/notes/meetings/calls, counted.

Revision ID: 0009_report
Revises: 0008_approval
Create Date: 2026-12-08

One row per CRM activity (its account, day, whether the agent wrote it, whether it was
deleted); the report counts the human ones per account and quarter. Empty until the next
``territory sync``. Owners gain ``quota``: the quarterly quota read from the CRM field named
in ``TERRITORY_QUOTA_FIELD`` (Salesforce User), used when no ``--reps`` overlay gives one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_report"
down_revision: str | None = "0008_approval"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "account_activities",
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("id", sa.String(80), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("by_agent", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("modified_at", TS, nullable=False),
        sa.Column("synced_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("crm", "id"),
    )
    op.create_index("ix_account_activities_crm_day", "account_activities", ["crm", "day"])
    with op.batch_alter_table("owners") as batch:
        batch.add_column(sa.Column("quota", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("owners") as batch:
        batch.drop_column("quota")
    op.drop_index("ix_account_activities_crm_day", table_name="account_activities")
    op.drop_table("account_activities")
