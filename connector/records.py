"""Records in our own vocabulary. CRM field names never leave ``connector/``.

Every connector translates CRM rows into these frozen dataclasses and back; ``sync``,
``rules`` adapters and the CLI only ever see these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum

CLOSED_HISTORY_QUARTERS = 4
"""Closed opportunities kept by a first sync: those closing in the current quarter and the
three before it (win rate and deal velocity in the quarterly report read them)."""


def closed_history_start(today: date) -> date:
    """First day of the oldest quarter whose closed opportunities a first sync keeps."""
    quarter_index = today.year * 4 + (today.month - 1) // 3 - (CLOSED_HISTORY_QUARTERS - 1)
    return date(quarter_index // 4, (quarter_index % 4) * 3 + 1, 1)


class ObjectKind(str, Enum):
    """The CRM objects the agent syncs."""

    OWNERS = "owners"
    ACCOUNTS = "accounts"
    OPPORTUNITIES = "opportunities"


@dataclass(frozen=True)
class OwnerRecord:
    """A sales rep: Salesforce User / HubSpot owner."""

    id: str
    name: str
    email: str | None
    is_active: bool
    modified_at: datetime
    manager_id: str | None = None
    teams: tuple[str, ...] = ()
    is_deleted: bool = False
    quota: float | None = None  # from the CRM field TERRITORY_QUOTA_FIELD names (Salesforce User)


@dataclass(frozen=True)
class AccountRecord:
    """A customer or prospect company: Salesforce Account / HubSpot company."""

    id: str
    name: str
    modified_at: datetime
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
    is_deleted: bool = False
    visit_mode: str | None = None  # as the CRM field named in coverage.visit_mode_field says


@dataclass(frozen=True)
class OpportunityRecord:
    """An opportunity / deal. Open ones matter for grandfathering; closed ones (``is_won``
    set) feed win rate and deal velocity (``created_at`` to ``close_date``)."""

    id: str
    name: str
    modified_at: datetime
    account_id: str | None = None
    owner_id: str | None = None
    amount: float | None = None
    stage: str | None = None
    close_date: date | None = None
    is_closed: bool = False
    is_deleted: bool = False
    created_at: datetime | None = None
    is_won: bool | None = None


Record = OwnerRecord | AccountRecord | OpportunityRecord


@dataclass(frozen=True)
class ChangeCursor:
    """Where an incremental read resumes: the last modified time fully or partly seen.

    ``seen_ids`` holds the ids already taken *at exactly* ``modified_at`` so a resume that
    reads ``>= modified_at`` can drop them (records sharing a timestamp are de-duplicated).
    ``token`` is an opaque connector-specific resume token (e.g. a HubSpot list ``after``
    during an initial load); ``None`` once the load is in incremental mode.
    """

    modified_at: datetime | None = None
    seen_ids: frozenset[str] = frozenset()
    token: str | None = None
    phase: str = "incremental"


@dataclass(frozen=True)
class ChangePage:
    """One page of changes and the cursor that is valid once this page is stored."""

    records: list[Record]
    cursor: ChangeCursor
    skipped: list[SkippedRecord] = field(default_factory=list)


@dataclass(frozen=True)
class SkippedRecord:
    """A record a connector could not read in full; reported, never silently dropped.

    Without a usable id, owner, name or modification stamp the record is skipped whole.
    With ``stored`` set it was stored anyway, the unusable optional fields (``employees:
    "n/a"``) left empty: a warning, since skipping a whole account would hide it from every
    rule and plan.

    ``version`` is the record's modification stamp exactly as the CRM sent it (None when it
    could not be read): the same record at the same version, re-read by an overlapping or
    tie-inclusive incremental query, is recognised as already reported.
    """

    kind: ObjectKind
    record_id: str
    problem: str
    version: str | None = None
    stored: bool = False


@dataclass(frozen=True)
class OwnerChange:
    """Move one account to a new owner. ``expected_owner_id`` guards against a changed record;
    ``expect_unowned`` writes only while the account still has no owner (auto-assign: an
    owner someone set in the CRM since the last sync is never overwritten)."""

    account_id: str
    new_owner_id: str
    expected_owner_id: str | None = None
    expect_unowned: bool = False


@dataclass(frozen=True)
class ActivityRequest:
    """A note or task to create on an account (audit trail, conflict flag)."""

    account_id: str
    subject: str
    body: str
    kind: str = "task"  # "task" | "note"
    owner_id: str | None = None
    completed: bool = False
    external_key: str | None = None


@dataclass(frozen=True)
class ActivityRecord:
    """A task or note found on an account; ``external_key`` is parsed from our marker."""

    id: str
    account_id: str | None
    kind: str
    subject: str
    body: str
    completed: bool
    external_key: str | None = None


@dataclass(frozen=True)
class WriteResult:
    """Per-record outcome of a batched write."""

    record_id: str
    ok: bool
    created_id: str | None = None
    error_code: str | None = None
    message: str | None = None
    retriable: bool = False


@dataclass(frozen=True)
class ApiUsage:
    """API calls used/allowed as the CRM reports them (None where it does not)."""

    used: int | None
    limit: int | None
    calls_this_run: int = 0
