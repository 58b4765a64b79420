"""Prospect placements of planner scenarios (``territory plan --include-prospects``).

Revision ID: 0005_market
Revises: 0002_market
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_market"
down_revision: str | None = "0002_market"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_prospects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("prospect_key", sa.String(300), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("to_owner_id", sa.String(64), nullable=False),
        sa.Column("territory_id", sa.String(), nullable=True),
        sa.Column("potential", sa.Float(), nullable=False),
        sa.Column("workload", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["scenario_id"], ["scenarios.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_prospects_scenario_id", "plan_prospects", ["scenario_id"])


def downgrade() -> None:
    op.drop_index("ix_plan_prospects_scenario_id", table_name="plan_prospects")
    op.drop_table("plan_prospects")
