"""Accounts keep their visit mode (field, remote, hybrid) from the CRM field named in the
rules file's coverage section, for the planner.

Revision ID: 0006_plantravel
Revises: 0005_market
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_plantravel"
down_revision: str | None = "0005_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("visit_mode", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("visit_mode")
