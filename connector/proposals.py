"""The approval loop's records and the protocol both CRMs implement for it.

Proposals live inside the CRM (a custom object on Salesforce, company properties plus a task
on HubSpot); managers decide there by editing the status; the agent reads who decided,
writes statuses and notes back, and moves the account's children with it. Everything here is
in our vocabulary: statuses are ``Proposed``/``Approved``/... whatever the CRM stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from territory.connector.records import WriteResult

PROPOSED = "Proposed"
APPROVED = "Approved"
REJECTED = "Rejected"
APPLIED = "Applied"
SUPERSEDED = "Superseded"
FAILED = "Failed"
STATUSES = (PROPOSED, APPROVED, REJECTED, APPLIED, SUPERSEDED, FAILED)


@dataclass(frozen=True)
class InstallStep:
    """One component install/uninstall looked at: ``action`` is create, exists, update,
    delete, absent or assign; ``done`` is False on a dry run."""

    component: str
    action: str
    detail: str = ""
    done: bool = False


@dataclass(frozen=True)
class ProposalRecord:
    """A proposal to publish (or re-publish) in the CRM."""

    key: str
    account_id: str
    from_owner_id: str | None
    to_owner_id: str
    scenario: str
    reason: str
    proposed_at: datetime
    status: str = PROPOSED
    approver_id: str | None = None
    title: str = ""


@dataclass(frozen=True)
class ProposalRef:
    """A published proposal as the connector needs it to read or write it back."""

    key: str
    account_id: str
    crm_record_id: str | None
    published_at: datetime


@dataclass(frozen=True)
class DecisionEvent:
    """Someone (or something) set a proposal's status in the CRM.

    ``actor_id`` is the user/owner id in the CRM's user directory (None when the CRM does
    not name one: API writes, imports, workflows); ``by_person`` says the CRM recorded it as a
    person's edit in its UI rather than an integration's write.
    """

    key: str
    value: str
    actor_id: str | None
    at: datetime
    by_person: bool = True


@dataclass(frozen=True)
class DecisionPage:
    """Decisions seen since the cursor, and the cursor to store once they are handled."""

    events: list[DecisionEvent]
    cursor: datetime | None


@dataclass(frozen=True)
class ProposalUpdate:
    """A status (and the fields that go with it) the agent writes on a proposal."""

    key: str
    account_id: str
    crm_record_id: str | None
    status: str
    note: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    applied_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class ChildMove:
    """Move an account's children owned by ``from_owner_id`` to ``to_owner_id``."""

    account_id: str
    from_owner_id: str
    to_owner_id: str
    include_opportunities: bool = False


@dataclass(frozen=True)
class ChildMoveResult:
    """How many children moved (a re-run finds none left to move: idempotent)."""

    account_id: str
    ok: bool
    contacts: int = 0
    opportunities: int = 0
    message: str | None = None


@dataclass(frozen=True)
class UiEdit:
    """What a person changes in the CRM's own UI to make an edit: the CRM's object, record
    and field names (sandbox and demo play managers and reps with it)."""

    object: str
    record_id: str
    fields: dict[str, str | None]


@runtime_checkable
class ApprovalConnector(Protocol):
    """What the approval loop needs from a CRM on top of :class:`CrmConnector`."""

    crm: str

    def install(self, *, dry_run: bool, approvers: Sequence[str] = ()) -> list[InstallStep]:
        """Create what is missing (idempotent); ``approvers`` get the approver permission."""
        ...

    def uninstall(self, *, dry_run: bool) -> list[InstallStep]:
        """Remove what install created and nothing else."""
        ...

    def check_install(self) -> list[tuple[str, bool, str]]:
        """Doctor checks: every installed component present, with what to do otherwise."""
        ...

    def count_open_proposals(self) -> int:
        """Proposals in the CRM still Proposed or Approved."""
        ...

    def publish_proposals(self, proposals: Sequence[ProposalRecord]) -> list[WriteResult]:
        """Upsert by key, batched; ``created_id`` is the CRM record holding each proposal."""
        ...

    def fetch_decisions(self, refs: Sequence[ProposalRef], cursor: datetime | None) -> DecisionPage:
        """Status changes on these proposals after ``cursor``, oldest first."""
        ...

    def agent_user_ids(self) -> set[str]:
        """User ids the agent itself writes as (its edits are never decisions)."""
        ...

    def update_proposals(self, updates: Sequence[ProposalUpdate]) -> list[WriteResult]:
        """Write statuses/notes, batched; results in input order."""
        ...

    def move_children(self, moves: Sequence[ChildMove]) -> list[ChildMoveResult]:
        """Re-own contacts (and open opportunities when asked), batched; idempotent."""
        ...

    def fetch_user_names(self) -> dict[str, str]:
        """User id -> display name for every user who can decide (reps, managers, admins)."""
        ...

    def fetch_current_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        """Account id -> owner id as the CRM has it now (missing accounts absent)."""
        ...

    def status_edit(self, crm_record_id: str, status: str) -> UiEdit:
        """The UI edit by which a manager sets a proposal's status (Approved, Rejected)."""
        ...

    def owner_edit(self, account_id: str, owner_id: str) -> UiEdit:
        """The UI edit by which a person hands an account to another owner."""
        ...


def failed(record_id: str, code: str, message: str) -> WriteResult:
    """A failed per-record result."""
    return WriteResult(record_id, False, error_code=code, message=message)
