"""CRM v3 search semantics for the emulator: filter groups, operators, sorts.

Groups are OR'd, filters inside a group AND'd. Datetime properties compare as instants
(filters send ms-epoch strings), number properties numerically, the rest as
case-insensitive strings. ``hs_lastmodifieddate`` and ``createdate`` are read straight from
the record so the common incremental query does not render every record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from emulator._hubspot_objects import HsType, parse_time

OPERATORS = frozenset({
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
    "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
})
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 10, 25

_FAST_TIME: dict[str, Callable[[Any], datetime]] = {
    "hs_lastmodifieddate": lambda r: r.modified_at,
    "createdate": lambda r: r.created_at,
    "hs_createdate": lambda r: r.created_at,
}


class SearchError(ValueError):
    """The request is malformed (400 VALIDATION_ERROR)."""


def _coerce(t: HsType, prop: str, value: Any) -> Any:
    if value is None:
        return None
    if prop in t.datetime_props:
        if isinstance(value, datetime):
            return value
        try:
            return parse_time(str(value))
        except ValueError:
            raise SearchError(f"{value!r} is not a valid datetime for {prop}") from None
    if prop in t.number_props:
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return str(value).lower()


class _Row:
    """A record with lazily rendered, coerced property values."""

    __slots__ = ("record", "_props", "_t")

    def __init__(self, t: HsType, record: Any) -> None:
        self.record, self._props, self._t = record, None, t

    def value(self, prop: str) -> Any:
        fast = _FAST_TIME.get(prop)
        if fast is not None and prop in self._t.datetime_props:
            return fast(self.record)
        if self._props is None:
            self._props = self._t.render(self.record)
        raw = self._props.get(prop)
        return None if raw in (None, "") else _coerce(self._t, prop, raw)


def _compile_filter(t: HsType, f: dict[str, Any]) -> Callable[[_Row], bool]:
    prop, op = f.get("propertyName"), str(f.get("operator", "EQ")).upper()
    if not prop:
        raise SearchError("filter without propertyName")
    if op not in OPERATORS:
        raise SearchError(f"unknown operator {op}")
    if op == "HAS_PROPERTY":
        return lambda row: row.value(prop) is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda row: row.value(prop) is None
    if op in ("IN", "NOT_IN"):
        wanted = {_coerce(t, prop, v) for v in f.get("values") or []}
        if op == "IN":
            return lambda row: row.value(prop) in wanted
        return lambda row: row.value(prop) not in wanted
    value = _coerce(t, prop, f.get("value"))
    if op == "BETWEEN":
        high = _coerce(t, prop, f.get("highValue"))
        if value is None or high is None:
            raise SearchError("BETWEEN needs value and highValue")
        return lambda row: (v := row.value(prop)) is not None and value <= v <= high
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(f.get("value", "")).lower().strip("*")
        hit: Callable[[_Row], bool] = lambda row: token in str(row.value(prop) or "")
        return hit if op == "CONTAINS_TOKEN" else (lambda row: not hit(row))
    if value is None:
        raise SearchError(f"operator {op} needs a value")
    compare: dict[str, Callable[[Any], bool]] = {
        "EQ": lambda v: v == value,
        "NEQ": lambda v: v != value,
        "LT": lambda v: v < value,
        "LTE": lambda v: v <= value,
        "GT": lambda v: v > value,
        "GTE": lambda v: v >= value,
    }
    check = compare[op]
    if op == "NEQ":
        return lambda row: check(row.value(prop))
    return lambda row: (v := row.value(prop)) is not None and check(v)


def compile_groups(t: HsType, groups: list[dict[str, Any]]) -> Callable[[_Row], bool]:
    """One predicate for the request's filterGroups (validated against HubSpot's limits)."""
    if len(groups) > MAX_GROUPS:
        raise SearchError(f"at most {MAX_GROUPS} filterGroups are allowed")
    compiled: list[list[Callable[[_Row], bool]]] = []
    total = 0
    for group in groups:
        filters = group.get("filters") or []
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(f"at most {MAX_FILTERS_PER_GROUP} filters per group are allowed")
        total += len(filters)
        compiled.append([_compile_filter(t, f) for f in filters])
    if total > MAX_FILTERS:
        raise SearchError(f"at most {MAX_FILTERS} filters in total are allowed")
    if not compiled:
        return lambda row: True
    return lambda row: any(all(check(row) for check in group) for group in compiled)


def _sort_key(prop: str) -> Callable[[_Row], tuple[bool, Any, int]]:
    def key(row: _Row) -> tuple[bool, Any, int]:
        value = row.value(prop)
        return (value is None, value if value is not None else 0, row.record.n)

    return key


def run_search(t: HsType, records: list[Any], body: dict[str, Any]) -> list[Any]:
    """Matching, sorted records (ties broken by id so paging is stable)."""
    predicate = compile_groups(t, body.get("filterGroups") or [])
    rows = [row for row in (_Row(t, r) for r in records) if predicate(row)]
    sorts = body.get("sorts") or []
    if not sorts:
        return [row.record for row in rows]
    for spec in reversed(sorts):  # stable multi-key sort: last key first
        if isinstance(spec, str):
            descending = spec.startswith("-")
            prop = spec.lstrip("-")
        else:
            prop = spec.get("propertyName", "hs_object_id")
            descending = str(spec.get("direction", "ASCENDING")).upper() == "DESCENDING"
        rows.sort(key=_sort_key(prop), reverse=descending)
    return [row.record for row in rows]
