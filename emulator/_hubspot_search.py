"""CRM v3 search semantics for the emulator: filter groups, operators, sorts.

Groups are OR'd, filters inside a group AND'd. Datetime properties compare as instants
(filters send ms-epoch strings), number properties numerically, the rest as
case-insensitive strings. ``hs_lastmodifieddate`` and ``createdate`` are read straight from
the record so the common incremental query does not render every record.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import datetime
from typing import Any

from territory.emulator._hubspot_objects import HsType, parse_time

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


Getter = Callable[[Any], Any]


def _getter(t: HsType, prop: str) -> Getter:
    """record -> coerced value of ``prop`` (None when empty)."""
    fast = _FAST_TIME.get(prop)
    if fast is not None and prop in t.datetime_props:
        return fast
    if prop == "hs_object_id":
        return lambda r: float(r.n)

    def slow(record: Any) -> Any:
        raw = t.render(record).get(prop)
        return None if raw in (None, "") else _coerce(t, prop, raw)

    return slow


def _compile_filter(t: HsType, f: dict[str, Any]) -> Callable[[Any], bool]:
    prop, op = f.get("propertyName"), str(f.get("operator", "EQ")).upper()
    if not prop:
        raise SearchError("filter without propertyName")
    if op not in OPERATORS:
        raise SearchError(f"unknown operator {op}")
    get = _getter(t, prop)
    if op == "HAS_PROPERTY":
        return lambda row: get(row) is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda row: get(row) is None
    if op in ("IN", "NOT_IN"):
        wanted = {_coerce(t, prop, v) for v in f.get("values") or []}
        if op == "IN":
            return lambda row: get(row) in wanted
        return lambda row: get(row) not in wanted
    value = _coerce(t, prop, f.get("value"))
    if op == "BETWEEN":
        high = _coerce(t, prop, f.get("highValue"))
        if value is None or high is None:
            raise SearchError("BETWEEN needs value and highValue")
        return lambda row: (v := get(row)) is not None and value <= v <= high
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(f.get("value", "")).lower().strip("*")
        def hit(row: Any) -> bool:
            return token in str(get(row) or "")
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
        return lambda row: check(get(row))
    return lambda row: (v := get(row)) is not None and check(v)


def compile_groups(t: HsType, groups: list[dict[str, Any]]) -> Callable[[Any], bool]:
    """One predicate for the request's filterGroups (validated against HubSpot's limits)."""
    if len(groups) > MAX_GROUPS:
        raise SearchError(f"at most {MAX_GROUPS} filterGroups are allowed")
    compiled: list[list[Callable[[Any], bool]]] = []
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
    if len(compiled) == 1 and len(compiled[0]) == 1:  # the common incremental query
        return compiled[0][0]
    return lambda row: any(all(check(row) for check in group) for group in compiled)


def run_search(t: HsType, records: list[Any], body: dict[str, Any], needed: int) -> tuple[int, list[Any]]:
    """The number of matches and at least the first ``needed`` of them in sort order.

    Records arrive in id order; sorts are stable, so ties stay in id order and paging is
    deterministic. A single sort with a small ``needed`` uses a heap instead of sorting all.
    """
    predicate = compile_groups(t, body.get("filterGroups") or [])
    rows = [r for r in records if predicate(r)]
    sorts = body.get("sorts") or []
    for spec in reversed(sorts):  # stable multi-key sort: last key first
        if isinstance(spec, str):
            descending = spec.startswith("-")
            prop = spec.lstrip("-")
        else:
            prop = spec.get("propertyName", "hs_object_id")
            descending = str(spec.get("direction", "ASCENDING")).upper() == "DESCENDING"
        get = _getter(t, prop)
        present = [r for r in rows if get(r) is not None]
        missing = [r for r in rows if get(r) is None] if len(present) != len(rows) else []
        if len(sorts) == 1 and needed * 8 < len(present):
            pick = heapq.nlargest if descending else heapq.nsmallest  # stable, like sorted()[:n]
            return len(rows), pick(needed, present, key=get) + missing
        # sorting on the values themselves allocates no key tuples on big result sets
        present.sort(key=get, reverse=descending)
        rows = present + missing  # empty values sort last either way
    return len(rows), rows
