"""Closed opportunities for the quarterly report: when each was created and whether it was won.

Revision ID: 0002_report (after 0002_approval: both were written in parallel and chained at merge)
Revises: 0001
Create Date: 2026-12-02

Win rate and deal velocity (days from create to close) read these; both are empty for rows
synced before this revision until the next sync that sees them again (``sync --full``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_report"
down_revision: str | None = "0002_approval"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("opportunities") as batch:
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("is_won", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("opportunities") as batch:
        batch.drop_column("is_won")
        batch.drop_column("created_at")
