"""Incremental reads: ``queryAll`` on SystemModstamp, one query-locator page at a time.

Cursor rules (see :class:`~connector.records.ChangeCursor`):

* The query starts at ``cursor.modified_at - OVERLAP``: SystemModstamp is set when a
  transaction starts, so a record committed late can carry a stamp slightly older than
  one we already saw. Records re-read from the window are harmless (the store ignores rows
  that are not newer).
* Rows at exactly ``cursor.modified_at`` whose id is in ``cursor.seen_ids`` are dropped, so
  many records sharing one stamp across a page boundary are neither lost nor duplicated.
* Each page's cursor is the last stamp reached and every id seen at that stamp (carried over
  from the previous cursor while the stamp does not move). It never moves backwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from simple_salesforce import Salesforce

from territory.connector.paging import refuse_repeated_token
from territory.connector.records import (
    ChangeCursor,
    ChangePage,
    ObjectKind,
    Record,
    SkippedRecord,
    closed_history_start,
)
from territory.connector.salesforce.mapping import MappingProblem, map_account, parse_stamp
from territory.connector.salesforce.soql import SPECS, ObjectSpec, changes_query

OVERLAP = timedelta(seconds=2)
Call = Callable[[Callable[[Salesforce], Any], str], Any]


class _CursorTracker:
    """Advances (stamp, ids at stamp) record by record; drops rows the old cursor covered."""

    def __init__(self, start: ChangeCursor | None) -> None:
        self.start = start
        self.stamp: datetime | None = start.modified_at if start else None
        self.ids: set[str] = set(start.seen_ids) if start else set()

    def already_seen(self, record_id: str, stamp: datetime) -> bool:
        start = self.start
        return start is not None and stamp == start.modified_at and record_id in start.seen_ids

    def advance(self, record_id: str, stamp: datetime) -> None:
        if self.stamp is None or stamp > self.stamp:
            self.stamp = stamp
            self.ids = {record_id}
        elif stamp == self.stamp:
            self.ids.add(record_id)

    def cursor(self) -> ChangeCursor:
        return ChangeCursor(modified_at=self.stamp, seen_ids=frozenset(self.ids), phase="incremental")


def _map_page(
    rows: list[dict[str, Any]], spec: ObjectSpec, kind: ObjectKind, tracker: _CursorTracker
) -> tuple[list[Record], list[SkippedRecord]]:
    records: list[Record] = []
    skipped: list[SkippedRecord] = []
    mapper = spec.mapper
    for row in rows:
        record_id = str(row.get("Id"))
        try:
            stamp = parse_stamp(row.get("SystemModstamp"))
        except MappingProblem as problem:
            skipped.append(SkippedRecord(kind, record_id, str(problem)))
            continue
        if tracker.already_seen(record_id, stamp):
            continue
        tracker.advance(record_id, stamp)
        problems: list[str] = []
        try:
            records.append(mapper(row, stamp, problems))
        except (MappingProblem, KeyError, TypeError) as problem:
            problems, stored = [str(problem)], False
        else:
            stored = True
        if problems:
            skipped.append(SkippedRecord(kind, record_id, f"{spec.sobject} {record_id}: {'; '.join(problems)}",
                                         version=str(row.get("SystemModstamp")), stored=stored))
    return records, skipped


def iter_change_pages(
    call: Call, kind: ObjectKind, cursor: ChangeCursor | None, *, full: bool, spec: ObjectSpec | None = None,
    visit_mode_field: str | None = None,
) -> Iterator[ChangePage]:
    """Pages of ``kind`` changed since ``cursor`` (everything when ``cursor`` is None or ``full``).

    Every read uses ``queryAll``, so deletions (recycle-bin rows, ``IsDeleted = true``)
    arrive as tombstones. The first read takes open opportunities only; full and incremental
    reads include closed ones so the store learns which opportunities closed. The first read
    also keeps the opportunities closed in the last four quarters (win rate and velocity).
    ``spec`` replaces the kind's default read (the User read with a quota field).
    """
    spec = spec or SPECS[kind]
    if visit_mode_field and kind is ObjectKind.ACCOUNTS:
        spec = replace(spec, fields=(*spec.fields, visit_mode_field),
                       mapper=partial(map_account, visit_mode_field=visit_mode_field))
    resume = None if full or cursor is None or cursor.modified_at is None else cursor
    initial = resume is None
    since = resume.modified_at - OVERLAP if resume is not None and resume.modified_at is not None else None
    # a first read takes open opportunities and those closed in the last quarters; a --full
    # re-read takes every closed one too, so those that closed since are marked closed
    recent_only = initial and not full and kind is ObjectKind.OPPORTUNITIES
    closed_since = closed_history_start(datetime.now(UTC).date()) if recent_only else None
    soql = changes_query(spec, since, closed_since=closed_since)
    tracker = _CursorTracker(resume)
    what = f"read {spec.sobject} records"
    page = call(lambda sf: sf.query(soql, include_deleted=True), what)
    seen_urls: set[str] = set()
    while True:
        records, skipped = _map_page(page.get("records", []), spec, kind, tracker)
        yield ChangePage(records=records, cursor=tracker.cursor(), skipped=skipped)
        next_url = page.get("nextRecordsUrl")
        if page.get("done", True) or not next_url:
            return
        refuse_repeated_token(
            seen_urls, next_url, crm="salesforce", what=f"{spec.sobject} records", code="PAGINATION_LOOP",
            next_step="re-run the sync; it resumes from the last committed page",
        )
        # call() runs the lambda (and its retries) before next_url is rebound: no late binding
        page = call(lambda sf: sf.query_more(next_url, identifier_is_url=True), what)
