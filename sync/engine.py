"""The incremental sync engine: CRM changes -> store, one transaction per page.

For each object kind the engine reads the committed cursor, asks the connector for the
changes after it and, for every :class:`~connector.records.ChangePage`, upserts the records
and writes ``page.cursor`` in the same transaction. A crash or kill at any point therefore
loses nothing (the cursor never runs ahead of stored data) and duplicates nothing (upserts are
idempotent and newer-wins, so a re-read page is a no-op).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from territory.connector.base import CrmConnector
from territory.connector.records import ObjectKind, SkippedRecord
from territory.sync.cursor import advance_cursor
from territory.sync.history import SOURCE_CRM_SYNC, HistoryEntry
from territory.sync.report_reads import read_report_inputs
from territory.sync.store import Store
from territory.sync.tables import utc_now
from territory.sync.upsert import UpsertOutcome

SYNC_ORDER: tuple[ObjectKind, ...] = (
    ObjectKind.OWNERS,
    ObjectKind.ACCOUNTS,
    ObjectKind.OPPORTUNITIES,
)
COUNT_NAMES = ("fetched", "inserted", "updated", "deleted", "unchanged", "skipped")


@dataclass
class KindCounts:
    """Counters for one object kind within a run."""

    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0
    purged: int = 0  # --full only: gone from the CRM without a tombstone (deleted too)
    pages: int = 0

    def as_dict(self) -> dict[str, int]:
        """Counters by name (incl. ``pages``)."""
        return {name: getattr(self, name) for name in (*COUNT_NAMES, "purged", "pages")}


@dataclass
class SyncSummary:
    """What a sync run did. ``changed_account_ids`` feeds the rules engine's inbound check."""

    crm: str
    full: bool
    run_id: int
    started_at: datetime
    kinds: dict[str, KindCounts] = field(default_factory=dict)
    skipped: list[SkippedRecord] = field(default_factory=list)
    # still unreadable at the version an earlier run reported: listed, not counted again
    skipped_known: list[SkippedRecord] = field(default_factory=list)
    # stored, but with an unusable optional field left empty (not a skip: exit code unchanged)
    warnings: list[SkippedRecord] = field(default_factory=list)
    # every problem the store still holds for this CRM (this run's and earlier runs')
    open_problems: list[dict[str, Any]] = field(default_factory=list)
    changed_account_ids: set[str] = field(default_factory=set)
    deleted_account_ids: set[str] = field(default_factory=set)
    api_calls: int = 0
    elapsed_s: float = 0.0
    status: str = "running"
    first_read: set[str] = field(default_factory=set)  # kinds read without a committed cursor

    @property
    def mode(self) -> str:
        """``full`` (--full), ``initial`` (no cursor yet) or ``incremental``."""
        if self.full:
            return "full"
        return "initial" if self.first_read else "incremental"

    def total(self, name: str) -> int:
        """Sum of one counter over all kinds."""
        return sum(getattr(c, name) for c in self.kinds.values())

    @property
    def is_partial(self) -> bool:
        """True when some records were skipped (exit code 4)."""
        return bool(self.skipped)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the ``territory sync --json`` document)."""
        return {
            "crm": self.crm,
            "full": self.full,
            "mode": self.mode,
            "run_id": self.run_id,
            "status": self.status,
            **{name: self.total(name) for name in COUNT_NAMES},
            "api_calls": self.api_calls,
            "elapsed_s": round(self.elapsed_s, 3),
            "kinds": {kind: counts.as_dict() for kind, counts in self.kinds.items()},
            "changed_accounts": len(self.changed_account_ids),
            "skipped_records": [
                {"kind": s.kind.value, "record_id": s.record_id, "problem": s.problem}
                for s in self.skipped
            ],
            "skipped_known_records": [
                {"kind": s.kind.value, "record_id": s.record_id, "problem": s.problem}
                for s in self.skipped_known
            ],
            "warning_records": [
                {"kind": s.kind.value, "record_id": s.record_id, "problem": s.problem}
                for s in self.warnings
            ],
            # open until a later read takes the record cleanly, whichever run met it
            "unreadable_records": [p for p in self.open_problems if not p["stored"]],
            "field_warnings": [p for p in self.open_problems if p["stored"]],
        }


ProgressCallback = Callable[[str, KindCounts], None]


def _owner_history(crm: str, outcome: UpsertOutcome) -> list[HistoryEntry]:
    """Audit entries for owners changed inside the CRM (by a person or another tool)."""
    return [
        HistoryEntry(
            crm=crm,
            account_id=account_id,
            old_owner_id=old,
            new_owner_id=new,
            reason="owner changed in the CRM",
            source=SOURCE_CRM_SYNC,
        )
        for account_id, old, new in outcome.owner_changes
    ]


def _sync_kind(
    connector: CrmConnector,
    store: Store,
    kind: ObjectKind,
    summary: SyncSummary,
    progress: ProgressCallback | None,
) -> None:
    crm = connector.crm
    counts = summary.kinds.setdefault(kind.value, KindCounts())
    cursor = None if summary.full else store.get_cursor(crm, kind.value)
    if cursor is None:
        summary.first_read.add(kind.value)
    seen: set[str] = set()
    reported = store.unreadable.reported_versions(crm)
    for page in connector.iter_changes(kind, cursor, full=summary.full):
        if summary.full:
            seen.update(r.id for r in page.records)
            seen.update(s.record_id for s in page.skipped)  # malformed, but still in the CRM
        next_cursor = advance_cursor(cursor, page.cursor)
        with store.transaction() as conn:
            outcome = store.upsert(conn, crm, kind.value, page.records, synced_at=utc_now())
            if kind is ObjectKind.ACCOUNTS:
                store.history.append(_owner_history(crm, outcome), conn=conn)
            store.unreadable.note_page(conn, crm, kind.value, summary.run_id, (r.id for r in page.records),
                                       page.skipped)
            store.put_cursor(conn, crm, kind.value, next_cursor)
        cursor = next_cursor
        # Only after the commit: the counters describe what is durably stored.
        counts.pages += 1
        counts.fetched += len(page.records) + sum(not s.stored for s in page.skipped)  # stored: in records
        counts.inserted += len(outcome.inserted)
        counts.updated += len(outcome.updated)
        counts.deleted += len(outcome.deleted)
        counts.unchanged += outcome.unchanged
        for skipped in page.skipped:
            if skipped.stored:
                summary.warnings.append(skipped)
                continue
            known = (skipped.kind.value, skipped.record_id, skipped.version) in reported
            (summary.skipped_known if known else summary.skipped).append(skipped)
            counts.skipped += not known
        if kind is ObjectKind.ACCOUNTS:
            summary.changed_account_ids.update(outcome.inserted, outcome.updated)
            summary.changed_account_ids.difference_update(outcome.deleted)
            summary.deleted_account_ids.update(outcome.deleted)
        if progress is not None:
            progress(kind.value, counts)
    if summary.full:
        # the whole kind was read: what the CRM no longer has at all was purged there
        purged = store.mark_unseen_deleted(crm, kind.value, seen, synced_at=utc_now())
        store.unreadable.forget_unseen(crm, kind.value, seen)
        counts.deleted += len(purged)
        counts.purged += len(purged)
        if kind is ObjectKind.ACCOUNTS:
            summary.changed_account_ids.difference_update(purged)
            summary.deleted_account_ids.update(purged)


def run_sync(
    connector: CrmConnector,
    store: Store,
    *,
    full: bool = False,
    progress: ProgressCallback | None = None,
    kinds: Iterable[ObjectKind] = SYNC_ORDER,
) -> SyncSummary:
    """Bring the store up to date with the CRM.

    Args:
        connector: Any :class:`~connector.base.CrmConnector`.
        store: An opened (migrated) store.
        full: Re-read everything instead of the changes after the committed cursors.
        progress: Called after every committed page with the kind and its counters.
        kinds: Object kinds to sync, in order (default owners, accounts, opportunities).

    Returns:
        The run's summary; also recorded in the ``sync_runs`` table.

    Raises:
        connector.errors.CrmError: When the connector gives up; pages committed before the
            error stay committed and the next run resumes after them.
    """
    started = time.perf_counter()
    calls_before = connector.api_calls
    summary = SyncSummary(
        crm=connector.crm, full=full, run_id=store.start_run(connector.crm, full),
        started_at=utc_now(),
    )
    try:
        for kind in kinds:
            _sync_kind(connector, store, kind, summary, progress)
        if kinds is SYNC_ORDER:  # a whole sync also reads the report's activity counts and quotas
            read_report_inputs(connector, store, connector.crm, full=full, on_page=_activity_progress(progress))
    except BaseException as exc:
        try:
            _finish(summary, store, connector, calls_before, started, "failed", repr(exc))
        except Exception:
            pass
        raise
    _carry_unreported(store, summary)
    _finish(
        summary, store, connector, calls_before, started,
        "partial" if summary.is_partial else "ok", None,
    )
    store.unreadable.mark_reported(summary.crm)
    summary.open_problems = store.unreadable.entries(summary.crm)
    return summary


def _carry_unreported(store: Store, summary: SyncSummary) -> None:
    """Problems an earlier, interrupted run met and never listed (this run resumed after
    them, so did not meet them again): this run lists them."""
    for problem in store.unreadable.unreported(summary.crm, summary.run_id):
        if problem.stored:
            summary.warnings.append(problem)
        else:
            summary.skipped.append(problem)
            summary.kinds.setdefault(problem.kind.value, KindCounts()).skipped += 1


def _activity_progress(progress: ProgressCallback | None) -> Callable[[int, int], None] | None:
    """The progress hook for the activity read (kind ``activities``: read so far, pages)."""
    if progress is None:
        return None
    return lambda read, pages: progress("activities", KindCounts(fetched=read, pages=pages))


def _finish(
    summary: SyncSummary,
    store: Store,
    connector: CrmConnector,
    calls_before: int,
    started: float,
    status: str,
    error: str | None,
) -> None:
    summary.api_calls = connector.api_calls - calls_before
    summary.elapsed_s = time.perf_counter() - started
    summary.status = status
    counts: dict[str, Any] = {name: summary.total(name) for name in COUNT_NAMES}
    counts["kinds"] = {kind: c.as_dict() for kind, c in summary.kinds.items()}
    store.finish_run(
        summary.run_id, status=status, counts=counts, api_calls=summary.api_calls,
        skipped=summary.skipped, error=error, skipped_known=summary.skipped_known,
    )
