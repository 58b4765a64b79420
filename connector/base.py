"""The ``CrmConnector`` protocol every CRM implementation fulfils."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from territory.connector.records import (
    ActivityRecord,
    ActivityRequest,
    ApiUsage,
    ChangeCursor,
    ChangePage,
    ObjectKind,
    OwnerChange,
    WriteResult,
)


@runtime_checkable
class CrmConnector(Protocol):
    """Read owners/accounts/opportunities incrementally; write owners, notes and tasks.

    Reads are page-wise: each :class:`ChangePage` carries the cursor that is valid once the
    page is stored, so the caller commits page and cursor in one transaction. Writes are
    batched (Salesforce 200, HubSpot 100 per call) and return one :class:`WriteResult` per
    input, in input order; a failed record never fails the batch.
    """

    crm: str  # "salesforce" | "hubspot"

    @property
    def api_calls(self) -> int:
        """HTTP calls made by this connector instance (retries included)."""
        ...

    def iter_changes(
        self, kind: ObjectKind, cursor: ChangeCursor | None, *, full: bool = False
    ) -> Iterator[ChangePage]:
        """Yield pages of records changed (incl. deleted/archived) after ``cursor``.

        ``cursor=None`` or ``full=True`` reads everything. Records sharing the cursor's
        timestamp that are in ``cursor.seen_ids`` are not yielded again.
        """
        ...

    def apply_owner_changes(self, changes: Sequence[OwnerChange]) -> list[WriteResult]:
        """Set new owners on accounts, batched; per-record results in input order."""
        ...

    def apply_activities(self, requests: Sequence[ActivityRequest]) -> list[WriteResult]:
        """Create notes/tasks on accounts, batched; per-record results in input order."""
        ...

    def fetch_activities(self, account_ids: Sequence[str]) -> list[ActivityRecord]:
        """Tasks/notes attached to these accounts, with our ``external_key`` parsed back.

        Connectors embed ``ActivityRequest.external_key`` as the marker ``[territory:KEY]``
        at the end of the subject, so a crash between the CRM write and our local commit can
        be reconciled by reading it back (exactly-once flags and audit notes).
        """
        ...

    def complete_activities(self, activity_ids: Sequence[str]) -> list[WriteResult]:
        """Mark tasks completed (e.g. a conflict that has been resolved)."""
        ...

    def fetch_usage(self) -> ApiUsage:
        """API usage as the CRM reports it (may cost one call)."""
        ...

    def check_access(self) -> list[tuple[str, bool, str]]:
        """Doctor checks: (check name, passed, detail or what to fix)."""
        ...
