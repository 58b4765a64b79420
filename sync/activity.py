"""Human activity per account: a light incremental read of the CRM's activities, counted.

After the records, ``run_sync`` reads the activities changed since the last read (tasks and
events in Salesforce; tasks, notes, meetings and calls in HubSpot) into ``account_activities``
and, once every type is read, commits the newest modification time reached as the cursor of
kind ``activities`` (rows are committed page by page; an interrupted read starts again from the
old cursor, and rows read twice change nothing). The report counts the rows that are not deleted and not written by the agent (its own
tasks and notes carry the ``[territory:`` marker) per account and quarter.

The read is a by-product of the sync: when the CRM refuses it (a missing permission or scope),
the sync still succeeds, the refusal is logged, and the report keeps saying what it last knew.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from territory.connector.activity_log import ActivityChange, ActivityReader
from territory.connector.errors import CrmError
from territory.connector.records import ChangeCursor
from territory.sync.store import Store
from territory.sync.tables import ActivityRow, utc_now
from territory.sync.upsert import insert_for_dialect

ACTIVITY_KIND = "activities"
# re-read a little: Salesforce stamps are set when a transaction starts, HubSpot's search index
# lags writes by seconds; rows read again change nothing
OVERLAP = timedelta(minutes=2)
log = logging.getLogger(__name__)
_TABLE: sa.Table = ActivityRow.__table__  # type: ignore[attr-defined]


@dataclass
class ActivityReadOutcome:
    """What one activity read did (``error`` when the CRM refused it)."""

    read: int = 0
    pages: int = 0
    error: str | None = None


def _write(conn: Connection, crm: str, page: list[ActivityChange], synced_at: datetime) -> None:
    newest: dict[str, ActivityChange] = {}
    for change in page:
        if change.id not in newest or change.modified_at >= newest[change.id].modified_at:
            newest[change.id] = change
    rows = [{"crm": crm, "id": c.id, "account_id": c.account_id, "day": c.day, "by_agent": c.by_agent,
             "deleted": c.deleted, "modified_at": c.modified_at, "synced_at": synced_at} for c in newest.values()]
    stmt = insert_for_dialect(conn.dialect.name, _TABLE)
    stmt = stmt.on_conflict_do_update(
        index_elements=["crm", "id"],
        set_={k: stmt.excluded[k] for k in ("account_id", "day", "by_agent", "deleted", "modified_at", "synced_at")},
        where=stmt.excluded.modified_at >= _TABLE.c.modified_at,
    )
    conn.execute(stmt, rows)


def sync_activities(connector: object, store: Store, crm: str, *, full: bool = False,
                    on_page: Callable[[int, int], None] | None = None) -> ActivityReadOutcome:
    """Read activity changes since the committed cursor (everything when ``full``);
    ``on_page(read so far, pages so far)`` after each committed page."""
    outcome = ActivityReadOutcome()
    if not isinstance(connector, ActivityReader):
        return outcome
    cursor = None if full else store.get_cursor(crm, ACTIVITY_KIND)
    since = cursor.modified_at - OVERLAP if cursor is not None and cursor.modified_at is not None else None
    reached = cursor.modified_at if cursor is not None else None
    started = utc_now()
    try:
        for page in connector.iter_activity_changes(since):
            reached = max([c.modified_at for c in page] + ([reached] if reached is not None else []), default=None)
            if page:
                with store.transaction() as conn:
                    _write(conn, crm, page, started)
            outcome.read += len(page)
            outcome.pages += 1
            if on_page is not None:
                on_page(outcome.read, outcome.pages)
    except CrmError as exc:
        outcome.error = str(exc)
        log.warning("activity counts not updated: %s", exc)
        return outcome
    with store.transaction() as conn:  # one cursor for every activity type: moved once all were read
        if full:  # what a complete read no longer returns is gone (HubSpot search omits archived ones)
            conn.execute(sa.update(_TABLE).where(_TABLE.c.crm == crm, _TABLE.c.synced_at < started,
                                                 _TABLE.c.deleted.is_(False)).values(deleted=True))
        store.put_cursor(conn, crm, ACTIVITY_KIND, ChangeCursor(modified_at=reached, phase="incremental"))
    return outcome


def activities_read(store: Store, crm: str) -> bool:
    """Whether an activity read has completed a page for ``crm`` (counts mean something)."""
    return store.get_cursor(crm, ACTIVITY_KIND) is not None


def human_activity_counts(store: Store, crm: str, start: date, end: date) -> dict[str, int]:
    """Human (not the agent's), not deleted activities per account with a day in [start, end]."""
    table = _TABLE
    query = (
        sa.select(table.c.account_id, sa.func.count())
        .where(table.c.crm == crm, table.c.account_id.is_not(None), table.c.deleted.is_(False),
               table.c.by_agent.is_(False), table.c.day >= start, table.c.day <= end)
        .group_by(table.c.account_id)
    )
    with store.engine.connect() as conn:
        return {str(account): int(n) for account, n in conn.execute(query)}


__all__ = ["ACTIVITY_KIND", "ActivityReadOutcome", "activities_read", "human_activity_counts", "sync_activities"]
