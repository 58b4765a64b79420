"""Unreadable CRM records kept with the sync run that met them (nothing said is lost).

Revision ID: 0007_adminops
Revises: 0006_plantravel
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_adminops"
down_revision: str | None = "0006_plantravel"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unreadable_records",
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("problem", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=True),
        sa.Column("stored", sa.Boolean(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("crm", "kind", "record_id"),
    )


def downgrade() -> None:
    op.drop_table("unreadable_records")
