"""The store's tables (SQLModel). Schema changes go through an Alembic migration too.

Records are keyed by ``(crm, id)`` so one store can hold a Salesforce org and a HubSpot
portal side by side. Every CRM record row carries ``is_deleted`` (a tombstone: deletes and
archivals are kept so a late, older copy cannot resurrect the record) and ``synced_at``.

``ownership_history`` is append-only: rows are inserted and never updated or deleted. The
store has no method that changes them, an ORM guard rejects it in code, and the migration
installs database triggers that reject it in SQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zone type, so values are normalised to naive UTC there (its text
    format then sorts chronologically, which the newer-wins upsert relies on).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        aware = aware.astimezone(UTC)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _ts(**kw: Any) -> Any:
    return Field(sa_type=UtcDateTime, **kw)


def _json(**kw: Any) -> Any:
    return Field(sa_type=sa.JSON, **kw)


class OwnerRow(SQLModel, table=True):
    """A sales rep (Salesforce User / HubSpot owner) as last synced."""

    __tablename__ = "owners"

    crm: str = Field(primary_key=True, max_length=16)
    id: str = Field(primary_key=True, max_length=64)
    name: str
    email: str | None = None
    is_active: bool = True
    manager_id: str | None = None
    teams: list[str] = _json(default_factory=list)
    modified_at: datetime = _ts()
    quota: float | None = None
    is_deleted: bool = False
    synced_at: datetime = _ts()


class AccountRow(SQLModel, table=True):
    """An account / company as last synced."""

    __tablename__ = "accounts"
    __table_args__ = (sa.Index("ix_accounts_crm_owner", "crm", "owner_id"),)

    crm: str = Field(primary_key=True, max_length=16)
    id: str = Field(primary_key=True, max_length=64)
    name: str
    owner_id: str | None = None
    domain: str | None = None
    country: str | None = None
    postal_code: str | None = None
    city: str | None = None
    lat: float | None = None
    lon: float | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: float | None = None
    parent_id: str | None = None
    visit_mode: str | None = None  # the CRM's value of coverage.visit_mode_field (planner)
    modified_at: datetime = _ts()
    is_deleted: bool = False
    synced_at: datetime = _ts()


class OpportunityRow(SQLModel, table=True):
    """An opportunity / deal as last synced."""

    __tablename__ = "opportunities"
    __table_args__ = (sa.Index("ix_opportunities_crm_account", "crm", "account_id"),)

    crm: str = Field(primary_key=True, max_length=16)
    id: str = Field(primary_key=True, max_length=64)
    name: str
    account_id: str | None = None
    owner_id: str | None = None
    amount: float | None = None
    stage: str | None = None
    close_date: date | None = None
    is_closed: bool = False
    modified_at: datetime = _ts()
    is_deleted: bool = False
    synced_at: datetime = _ts()
    created_at: datetime | None = _ts(default=None, nullable=True)
    is_won: bool | None = None


class SyncCursorRow(SQLModel, table=True):
    """The committed bookmark for one CRM object kind (see ``connector.ChangeCursor``)."""

    __tablename__ = "sync_cursors"

    crm: str = Field(primary_key=True, max_length=16)
    kind: str = Field(primary_key=True, max_length=32)
    modified_at: datetime | None = _ts(default=None, nullable=True)
    seen_ids: list[str] = _json(default_factory=list)
    token: str | None = None
    phase: str = "incremental"
    updated_at: datetime = _ts()


class OwnershipHistoryRow(SQLModel, table=True):
    """One ownership decision or observed change. Append-only: never updated or deleted."""

    __tablename__ = "ownership_history"

    id: int | None = Field(default=None, primary_key=True)
    crm: str = Field(max_length=16)
    account_id: str = Field(index=True, max_length=64)
    old_owner_id: str | None = None
    new_owner_id: str | None = None
    reason: str
    rule: str | None = None
    approver: str | None = None
    source: str = Field(max_length=32)
    decided_at: datetime = _ts()
    crm_result: str | None = None


class SyncRunRow(SQLModel, table=True):
    """One ``territory sync`` run: what it did and how it ended."""

    __tablename__ = "sync_runs"

    id: int | None = Field(default=None, primary_key=True)
    crm: str = Field(max_length=16)
    full: bool = False
    started_at: datetime = _ts()
    finished_at: datetime | None = _ts(default=None, nullable=True)
    status: str = Field(default="running", max_length=16)  # running|ok|partial|failed
    counts: dict[str, Any] = _json(default_factory=dict)
    api_calls: int = 0
    skipped: list[dict[str, str]] = _json(default_factory=list)
    error: str | None = None


class OutboxRow(SQLModel, table=True):
    """A pending CRM write; ``external_key`` makes enqueueing idempotent."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # e.g. owner_change | activity
    payload: dict[str, Any] = _json(default_factory=dict)
    external_key: str = Field(unique=True, max_length=200)
    status: str = Field(default="pending", index=True, max_length=16)  # pending|sent|failed
    crm_id: str | None = None
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(default=None, nullable=True)


class ScenarioRow(SQLModel, table=True):
    """A saved planner scenario (options in, metrics out)."""

    __tablename__ = "scenarios"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    created_at: datetime = _ts()
    options: dict[str, Any] = _json(default_factory=dict)
    metrics: dict[str, Any] = _json(default_factory=dict)


class PlanMoveRow(SQLModel, table=True):
    """One proposed account move inside a scenario."""

    __tablename__ = "plan_moves"

    id: int | None = Field(default=None, primary_key=True)
    scenario_id: int = Field(foreign_key="scenarios.id", index=True, ondelete="CASCADE")
    account_id: str = Field(max_length=64)
    from_owner_id: str | None = None
    to_owner_id: str | None = None
    reason: str | None = None
    status: str = Field(default="proposed", max_length=16)  # proposed|approved|rejected|applied


class PlanProspectRow(SQLModel, table=True):
    """A market prospect a scenario placed with a rep (``plan --include-prospects``).

    Kept apart from :class:`PlanMoveRow`: a prospect is not a CRM account, so its placement
    is never published as an owner change; ``territory market push`` creates it instead.
    """

    __tablename__ = "plan_prospects"

    id: int | None = Field(default=None, primary_key=True)
    scenario_id: int = Field(foreign_key="scenarios.id", index=True, ondelete="CASCADE")
    source: str = Field(max_length=200)
    prospect_key: str = Field(max_length=300)
    name: str
    to_owner_id: str = Field(max_length=64)
    territory_id: str | None = None
    potential: float = 0.0
    workload: float = 0.0


class LeaseRow(SQLModel, table=True):
    """Who may run scheduled work on this database, and until when."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=200)
    acquired_until: datetime = _ts()


class AgentRunRow(SQLModel, table=True):
    """One run of one agent job (sync, approvals, rebalance): when, how it ended, what it did."""

    __tablename__ = "agent_runs"
    __table_args__ = (sa.Index("ix_agent_runs_job_started", "job", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=32)
    holder: str = Field(max_length=200)
    started_at: datetime = _ts()
    finished_at: datetime | None = _ts(default=None, nullable=True)
    outcome: str = Field(default="running", max_length=16)  # running|ok|partial|skipped|failed|stopped
    summary: dict[str, Any] = _json(default_factory=dict)
    error: str | None = None


PROPOSAL_STATES = ("Proposed", "Approved", "Rejected", "Applied", "Superseded", "Failed")
"""Every state a reassignment proposal can be in (the CRM's status picklist has the same)."""
OPEN_PROPOSAL_STATES = ("Proposed", "Approved")
"""States in which a proposal may still change the account's owner."""


class ProposalRow(SQLModel, table=True):
    """One planned account move published to the CRM for a manager's decision.

    ``key`` is the proposal key the CRM record carries (Salesforce external id, HubSpot
    company property), so publishing twice never makes two. ``state`` follows the CRM's
    status once the agent has accepted a decision; ``decided_*`` name the accepted decider.
    """

    __tablename__ = "proposals"
    __table_args__ = (
        sa.Index("ix_proposals_crm_state", "crm", "state"),
        sa.Index("ix_proposals_crm_account", "crm", "account_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    crm: str = Field(max_length=16)
    key: str = Field(unique=True, max_length=64)
    scenario: str = Field(max_length=200)
    account_id: str = Field(max_length=64)
    account_name: str | None = None
    from_owner_id: str | None = None
    to_owner_id: str | None = None
    reason: str | None = None
    state: str = Field(default="Proposed", max_length=16)
    crm_record_id: str | None = None
    approver_id: str | None = None  # the manager asked to decide (HubSpot task assignee)
    decided_by: str | None = None
    decided_at: datetime | None = _ts(default=None, nullable=True)
    published_at: datetime = _ts()
    applied_at: datetime | None = _ts(default=None, nullable=True)
    updated_at: datetime = _ts()
    error: str | None = None
    note: str | None = None


class ProposalDecisionRow(SQLModel, table=True):
    """A decision someone made in the CRM, as the agent saw it (accepted or not)."""

    __tablename__ = "proposal_decisions"
    __table_args__ = (
        sa.UniqueConstraint("proposal_id", "actor_id", "value", "decided_at",
                            name="uq_proposal_decisions_event"),
    )

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposals.id", index=True, ondelete="CASCADE")
    value: str = Field(max_length=16)  # the status the person set: Approved | Rejected | ...
    actor_id: str | None = None
    decided_at: datetime = _ts()
    accepted: bool = False
    reason: str | None = None  # why it counted, or why it did not
    seen_at: datetime = _ts()


RECORD_TABLES: dict[str, type[SQLModel]] = {
    "owners": OwnerRow,
    "accounts": AccountRow,
    "opportunities": OpportunityRow,
}
"""Record table per ``ObjectKind`` value."""


class MarketSourceRow(SQLModel, table=True):
    """An imported prospect list (``territory market import``); re-importing replaces it."""

    __tablename__ = "market_sources"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    imported_at: datetime = _ts()
    file_name: str
    file_hash: str = Field(max_length=64)
    format: str = Field(max_length=16)
    rows: int = 0
    contacts_dropped: int = 0


class MarketProspectRow(SQLModel, table=True):
    """One company of a market source with its current match to a CRM account."""

    __tablename__ = "market_prospects"
    __table_args__ = (sa.UniqueConstraint("source_id", "key", name="uq_market_prospects_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="market_sources.id", index=True, ondelete="CASCADE")
    key: str = Field(max_length=300)
    line: int = 0
    name: str
    domain: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    industry: str | None = None
    employees: float | None = None
    annual_revenue: float | None = None
    phone: str | None = None
    contacts: list[dict[str, str]] = _json(default_factory=list)
    crm: str | None = Field(default=None, max_length=16)
    account_id: str | None = None
    score: float = 0.0
    method: str = Field(default="none", max_length=16)
    alternatives: list[str] = _json(default_factory=list)


class MarketDecisionRow(SQLModel, table=True):
    """A user's confirm/reject of a match; kept across re-imports of the source."""

    __tablename__ = "market_decisions"

    source_name: str = Field(primary_key=True, max_length=200)
    prospect_key: str = Field(primary_key=True, max_length=300)
    decision: str = Field(max_length=16)  # confirmed | rejected | created (by `market push`)
    account_id: str | None = None
    decided_at: datetime = _ts()


class UnreadableRecordRow(SQLModel, table=True):
    """A CRM record a sync could not read in full, kept until a later run reads it cleanly
    (so an interrupted run's list is not lost). ``stored``: kept with the unusable optional
    fields empty (a warning); otherwise skipped whole. ``reported``: a finished run listed it."""

    __tablename__ = "unreadable_records"

    crm: str = Field(primary_key=True, max_length=16)
    kind: str = Field(primary_key=True, max_length=32)
    record_id: str = Field(primary_key=True, max_length=64)
    problem: str
    version: str | None = None
    stored: bool = False
    run_id: int  # the run that last met it
    met_at: datetime = _ts()
    reported: bool = False


class ActivityRow(SQLModel, table=True):
    """A task/event/note/meeting/call on an account: what the report's activity counts need."""

    __tablename__ = "account_activities"
    __table_args__ = (sa.Index("ix_account_activities_crm_day", "crm", "day"),)

    crm: str = Field(primary_key=True, max_length=16)
    id: str = Field(primary_key=True, max_length=80)
    account_id: str | None = Field(default=None, max_length=64)
    day: date | None = None
    by_agent: bool = False
    deleted: bool = False
    modified_at: datetime = _ts()
    synced_at: datetime = _ts()  # a full read marks rows it did not see again as deleted
