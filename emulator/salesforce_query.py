"""SOQL execution for the Salesforce emulator: index, filtering, ordering, paging.

A time-sorted index per object (``(modified_at, n)``) is rebuilt lazily when the table
changed, so the connector's incremental shape ``WHERE SystemModstamp >= X ... ORDER BY
SystemModstamp, Id`` is a bisect plus a slice; any other query falls back to generic
evaluation. Results are snapshotted at query time (as a server-side query locator is), so
edits made while a client pages through a result never reorder or change later pages.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from territory.emulator.salesforce_objects import SObjectDef, resolve_getter, resolve_renderer
from territory.emulator.soql import (
    OrderItem,
    Query,
    SoqlError,
    compile_where,
    parse_soql,
    split_stamp_floor,
    where_fields,
)
from territory.emulator.state import CrmState

MAX_BATCH = 2000
MIN_BATCH = 200
_KEEP_LOCATORS = 8  # a retried last page still finds its locator; older ones are evicted
# Memory: a locator keeps only the rows from the page last served onwards.


@dataclass
class _Snapshot:
    sobject: str
    fields: tuple[str, ...]
    rows: list[tuple[Any, ...]]  # rows[i] is result row base + i
    batch: int
    version: str
    total: int
    base: int = 0

    def forget_before(self, offset: int) -> None:
        """Drop rows before ``offset``: clients page forwards (or retry the same page)."""
        if offset > self.base:
            self.rows = self.rows[offset - self.base :]
            self.base = offset


class QueryEngine:
    """Runs SOQL against the state and serves query-locator pages."""

    def __init__(self, state: CrmState, defs: dict[str, SObjectDef]) -> None:
        self.state = state
        self.defs = defs
        self._index: dict[str, tuple[tuple[int, datetime], list[tuple[datetime, int]]]] = {}
        self._locators: OrderedDict[str, _Snapshot] = OrderedDict()
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    # public ------------------------------------------------------------------------------
    def run(self, text: str, *, include_deleted: bool, version: str, batch: int = MAX_BATCH) -> dict[str, Any]:
        """Execute ``text``; the first page of the result (or the count)."""
        query = parse_soql(text)
        sobject = self.defs.get(query.sobject.lower())
        if sobject is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name.",
            )
        fields = tuple(self._checked(sobject, name) for name in query.fields)
        for name in where_fields(query.where) | {o.field for o in query.order_by}:
            self._checked(sobject, name)
        with self.state.lock:
            records = self._matching(sobject, query, include_deleted)
            if query.count_only:
                return {"totalSize": len(records), "done": True, "records": []}
            renderers = [resolve_renderer(self.defs, self.state, sobject, f) for f in fields]
            rows = [tuple([r(rec) for r in renderers]) for rec in records]  # type: ignore[misc]
        snap = _Snapshot(sobject.name, fields, rows, max(MIN_BATCH, min(batch, MAX_BATCH)), version, len(rows))
        locator = f"01g{next(self._counter):015d}"
        return self._page(locator, snap, 0)

    def more(self, locator: str, offset: int) -> dict[str, Any] | None:
        """The page of a locator starting at ``offset``; None if the locator is unknown."""
        with self._lock:
            snap = self._locators.get(locator)
            if snap is None or not snap.base <= offset <= snap.total:
                return None
            snap.forget_before(offset)
        return self._page(locator, snap, offset)

    # internals ---------------------------------------------------------------------------
    def _checked(self, sobject: SObjectDef, name: str) -> str:
        if resolve_getter(self.defs, self.state, sobject, name) is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{sobject.name}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name.",
            )
        canonical = sobject.canonical(name)
        return canonical or name

    def _sorted_index(self, sobject: SObjectDef) -> list[tuple[datetime, int]]:
        table = self.state.table(sobject.kind)
        key = (len(table), self.state.now())
        cached = self._index.get(sobject.name)
        if cached is None or cached[0] != key:
            entries = sorted((rec.modified_at, n) for n, rec in table.items() if sobject.include(rec))
            cached = (key, entries)
            self._index[sobject.name] = cached
        return cached[1]

    def _matching(self, sobject: SObjectDef, query: Query, include_deleted: bool) -> list[Any]:
        floor, strict, rest = split_stamp_floor(query.where, "SystemModstamp")
        index = self._sorted_index(sobject)
        start = 0
        if floor is not None:
            probe = (floor, 2**62) if strict else (floor, -1)
            start = bisect.bisect_left(index, probe)
        table = self.state.table(sobject.kind)
        records = [table[n] for _, n in index[start:]]
        if not include_deleted:
            records = [r for r in records if not getattr(r, "deleted", False)]
        if rest is not None:
            predicate = compile_where(rest, lambda f: resolve_getter(self.defs, self.state, sobject, f))  # type: ignore[arg-type, return-value]
            records = [r for r in records if predicate(r)]
        if not _is_index_order(query.order_by):
            records = self._ordered(sobject, records, query.order_by)
        offset = query.offset or 0
        end = None if query.limit is None else offset + query.limit
        return records[offset:end]

    def _ordered(self, sobject: SObjectDef, records: list[Any], order: tuple[OrderItem, ...]) -> list[Any]:
        # Stable sorts applied from the last key to the first give a multi-key order.
        records = sorted(records, key=lambda r: r.n)
        for item in reversed(order):
            get = resolve_getter(self.defs, self.state, sobject, item.field)
            assert get is not None
            nulls_last = item.nulls_last if item.nulls_last is not None else item.descending
            present = [r for r in records if get(r) is not None]
            missing = [r for r in records if get(r) is None]
            present.sort(key=lambda r: _sort_key(get(r)), reverse=item.descending)
            records = present + missing if nulls_last else missing + present
        return records

    def _page(self, locator: str, snap: _Snapshot, offset: int) -> dict[str, Any]:
        end = min(offset + snap.batch, snap.total)
        base = f"/services/data/v{snap.version}/sobjects/{snap.sobject}/"
        id_pos = snap.fields.index("Id") if "Id" in snap.fields else None
        with self._lock:
            rows = snap.rows[offset - snap.base : end - snap.base]
        if any("." in name for name in snap.fields):
            records = [_render(snap.sobject, base, snap.fields, row, id_pos) for row in rows]
        else:  # the common, flat case: no per-field work
            fields, sobject = snap.fields, snap.sobject
            records = [
                {"attributes": {"type": sobject, "url": base + row[id_pos] if id_pos is not None else base},
                 **dict(zip(fields, row))}
                for row in rows
            ]
        body: dict[str, Any] = {"totalSize": snap.total, "done": end >= snap.total, "records": records}
        if end < snap.total:
            body["nextRecordsUrl"] = f"/services/data/v{snap.version}/query/{locator}-{end}"
        with self._lock:
            if end < snap.total or locator in self._locators:
                self._locators[locator] = snap
                self._locators.move_to_end(locator)
                while len(self._locators) > _KEEP_LOCATORS:
                    self._locators.popitem(last=False)
        return body


def _is_index_order(order: tuple[OrderItem, ...]) -> bool:
    names = [(o.field.lower(), o.descending) for o in order]
    return not names or names in ([("systemmodstamp", False), ("id", False)], [("systemmodstamp", False)])


def _sort_key(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _render(sobject: str, base: str, fields: tuple[str, ...], row: tuple[Any, ...], id_pos: int | None) -> dict[str, Any]:
    url = base + row[id_pos] if id_pos is not None else base
    record: dict[str, Any] = {"attributes": {"type": sobject, "url": url}}
    for name, value in zip(fields, row):
        if "." in name:
            rel, _, inner = name.partition(".")
            nested = record.get(rel)
            if value is None and nested is None:
                record[rel] = None
                continue
            if nested is None:
                nested = record[rel] = {"attributes": {"type": "User" if rel in ("Owner", "Manager") else "Account"}}
            nested[inner] = value
        else:
            record[name] = value
    return record
