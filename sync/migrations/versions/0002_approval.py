"""Reassignment proposals and the decisions managers made on them in the CRM.

Revision ID: 0002_approval
Revises: 0001
Create Date: 2026-12-02

The ordered write-back steps of a proposal (owner change, children, audit note, status)
live in the existing ``outbox`` table under keys ``proposal:<key>:<n>-<step>``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_approval"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(200), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("account_name", sa.String(), nullable=True),
        sa.Column("from_owner_id", sa.String(), nullable=True),
        sa.Column("to_owner_id", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("crm_record_id", sa.String(), nullable=True),
        sa.Column("approver_id", sa.String(), nullable=True),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("applied_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_proposals_crm_state", "proposals", ["crm", "state"])
    op.create_index("ix_proposals_crm_account", "proposals", ["crm", "account_id"])
    op.create_table(
        "proposal_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=True),
        sa.Column("decided_at", TS, nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("seen_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("proposal_id", "actor_id", "value", "decided_at",
                            name="uq_proposal_decisions_event"),
    )
    op.create_index("ix_proposal_decisions_proposal_id", "proposal_decisions", ["proposal_id"])


def downgrade() -> None:
    op.drop_table("proposal_decisions")
    op.drop_table("proposals")
