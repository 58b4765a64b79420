"""An in-memory CRM and a connector for it, for engine, property and CLI tests.

``FakeConnector`` reads like the real ones: changes ordered by ``(modified_at, id)``, a
cursor ``(last modified_at, ids seen at it)`` after every page, resume with ``>=`` and drop
``seen_ids``. It can fail after a number of pages, skip malformed records, and re-deliver
pages (the engine must stay correct when a connector does).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from territory.connector.errors import RetriableCrmError
from territory.connector.records import (
    AccountRecord,
    ActivityRecord,
    ApiUsage,
    ChangeCursor,
    ChangePage,
    ObjectKind,
    OpportunityRecord,
    OwnerRecord,
    Record,
    SkippedRecord,
    WriteResult,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class FakeCrm:
    """Records per kind, a millisecond clock, and edits 'as a human would'."""

    def __init__(self) -> None:
        self.records: dict[ObjectKind, dict[str, Record]] = {k: {} for k in ObjectKind}
        self.now = T0

    def tick(self, ms: int = 1) -> datetime:
        self.now += timedelta(milliseconds=ms)
        return self.now

    def put(self, kind: ObjectKind, record: Record) -> Record:
        self.records[kind][record.id] = record
        return record

    def edit(self, kind: ObjectKind, record_id: str, *, at: datetime | None = None, **changes: Any) -> Record:
        stamp = at or self.tick()
        new = dataclasses.replace(self.records[kind][record_id], modified_at=stamp, **changes)
        return self.put(kind, new)

    def delete(self, kind: ObjectKind, record_id: str, *, at: datetime | None = None) -> Record:
        return self.edit(kind, record_id, at=at, is_deleted=True)

    def live(self, kind: ObjectKind) -> dict[str, Record]:
        return {i: r for i, r in self.records[kind].items() if not r.is_deleted}


def seed_crm(accounts: int = 25, owners: int = 3, opportunities: int = 6, *, same_time: int = 0) -> FakeCrm:
    """A small CRM; the first ``same_time`` accounts share one modified time (ties)."""
    crm = FakeCrm()
    for n in range(owners):
        crm.put(ObjectKind.OWNERS, OwnerRecord(
            id=f"U{n:03d}", name=f"Rep {n}", email=f"rep{n}@example.com", is_active=n != 2,
            modified_at=crm.tick(), teams=("DACH",) if n % 2 else (),
        ))
    tie = crm.tick()
    for n in range(accounts):
        crm.put(ObjectKind.ACCOUNTS, AccountRecord(
            id=f"A{n:04d}", name=f"Firma {n} GmbH", owner_id=f"U{n % max(owners, 1):03d}",
            modified_at=tie if n < same_time else crm.tick(), domain=f"firma{n}.de",
            country="DE", postal_code=f"{10000 + n}", city="Berlin", lat=52.5, lon=13.4,
            industry="Software", employees=10 + n, annual_revenue=1e6 + n,
        ))
    for n in range(opportunities):
        crm.put(ObjectKind.OPPORTUNITIES, OpportunityRecord(
            id=f"O{n:04d}", name=f"Deal {n}", account_id=f"A{n:04d}", owner_id="U000",
            amount=1000.0 * n, stage="Prospecting", modified_at=crm.tick(),
        ))
    return crm


class FakeConnector:
    """A :class:`connector.base.CrmConnector` over a :class:`FakeCrm`."""

    def __init__(
        self,
        crm_data: FakeCrm,
        *,
        page_size: int = 4,
        crm: str = "salesforce",
        fail_after_pages: int | None = None,
        malformed: Sequence[str] = (),
        redeliver: bool = False,
        page_delay_s: float = 0.0,
    ) -> None:
        self.data = crm_data
        self.crm = crm
        self.page_size = page_size
        self.fail_after_pages = fail_after_pages
        self.malformed = set(malformed)
        self.redeliver = redeliver
        self.page_delay_s = page_delay_s
        self.api_calls = 0
        self.pages_served = 0
        self.cursors_received: list[tuple[ObjectKind, ChangeCursor | None, bool]] = []

    def _changes(self, kind: ObjectKind, cursor: ChangeCursor | None, full: bool) -> list[Record]:
        rows = sorted(self.data.records[kind].values(), key=lambda r: (r.modified_at, r.id))
        if full or cursor is None or cursor.modified_at is None:
            return rows
        since = cursor.modified_at
        return [
            r for r in rows
            if r.modified_at > since or (r.modified_at == since and r.id not in cursor.seen_ids)
        ]

    def iter_changes(
        self, kind: ObjectKind, cursor: ChangeCursor | None, *, full: bool = False
    ) -> Iterator[ChangePage]:
        self.cursors_received.append((kind, cursor, full))
        rows = self._changes(kind, cursor, full)
        current = ChangeCursor() if full or cursor is None else cursor
        if not rows:
            self.api_calls += 1
            yield ChangePage(records=[], cursor=current)
            return
        for start in range(0, len(rows), self.page_size):
            if self.fail_after_pages is not None and self.pages_served >= self.fail_after_pages:
                raise RetriableCrmError("connection dropped (injected)", crm=self.crm, status=503)
            self.api_calls += 1
            if self.page_delay_s:
                time.sleep(self.page_delay_s)  # a slow CRM, so a test can kill mid-sync
            page = rows[start : start + self.page_size]
            current = _advance(current, page)
            good = [r for r in page if r.id not in self.malformed]
            skipped = [
                SkippedRecord(kind=kind, record_id=r.id, problem="malformed value (injected)",
                              version=r.modified_at.isoformat())
                for r in page if r.id in self.malformed
            ]
            self.pages_served += 1
            yield ChangePage(records=good, cursor=current, skipped=skipped)
            if self.redeliver:
                yield ChangePage(records=list(good), cursor=current)

    def apply_owner_changes(self, changes: Sequence[Any]) -> list[WriteResult]:
        return [WriteResult(record_id=c.account_id, ok=True) for c in changes]

    def apply_activities(self, requests: Sequence[Any]) -> list[WriteResult]:
        return [WriteResult(record_id=r.account_id, ok=True) for r in requests]

    def fetch_activities(self, account_ids: Sequence[str]) -> list[ActivityRecord]:
        return []

    def complete_activities(self, activity_ids: Sequence[str]) -> list[WriteResult]:
        return [WriteResult(record_id=i, ok=True) for i in activity_ids]

    def fetch_usage(self) -> ApiUsage:
        self.api_calls += 1
        return ApiUsage(used=120, limit=15000, calls_this_run=self.api_calls)

    def check_access(self) -> list[tuple[str, bool, str]]:
        self.api_calls += 1
        return [("connectivity", True, "fake CRM reachable"), ("authentication", True, "ok"),
                ("permissions", True, "read accounts, owners, opportunities")]


def _advance(cursor: ChangeCursor, page: Sequence[Record]) -> ChangeCursor:
    """Cursor after ``page``: its last timestamp and every id seen at that timestamp."""
    last = page[-1].modified_at
    at_last = {r.id for r in page if r.modified_at == last}
    if cursor.modified_at == last:
        at_last |= cursor.seen_ids
    return ChangeCursor(modified_at=last, seen_ids=frozenset(at_last))
