"""Market data: imported prospect lists, their matches, and users' match decisions.

Revision ID: 0002_market
Revises: 0002_report (re-chained after main's approval and report migrations)
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_market"
down_revision: str | None = "0002_report"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "market_sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("imported_at", TS, nullable=False),
        sa.Column("file_name", sa.String(), nullable=False),
        sa.Column("file_hash", sa.String(64), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("contacts_dropped", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "market_prospects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        *(sa.Column(name, sa.String(), nullable=True) for name in ("domain", "street", "postal_code", "city", "country", "industry")),
        sa.Column("employees", sa.Float(), nullable=True),
        sa.Column("annual_revenue", sa.Float(), nullable=True),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("crm", sa.String(16), nullable=True),
        sa.Column("account_id", sa.String(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("alternatives", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["market_sources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "key", name="uq_market_prospects_source_key"),
    )
    op.create_index("ix_market_prospects_source_id", "market_prospects", ["source_id"])
    op.create_table(
        "market_decisions",
        sa.Column("source_name", sa.String(200), nullable=False),
        sa.Column("prospect_key", sa.String(300), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(), nullable=True),
        sa.Column("decided_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("source_name", "prospect_key"),
    )


def downgrade() -> None:
    for table in ("market_decisions", "market_prospects", "market_sources"):
        op.drop_table(table)
