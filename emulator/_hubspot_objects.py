"""How the emulator's records look through the HubSpot CRM v3 API, and how writes map back.

One :class:`HsType` per object type (companies, deals, notes, tasks) knows its state table,
its default properties, how to render a record's properties (strings or null, as HubSpot
sends them) and how to apply written properties. Owners are rendered separately because
they are not CRM objects in HubSpot's API.
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from territory.emulator.hubspot.contacts import render_contact
from territory.emulator.state import (
    CrmState,
    EmuAccount,
    EmuActivity,
    EmuOpportunity,
    EmuOwner,
    hs_id,
)
from territory.emulator.store import Change
from territory.emulator.users import hubspot_user_id

Props = dict[str, str | None]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PropertyError(ValueError):
    """A written property value HubSpot would reject (400 VALIDATION_ERROR)."""

    def __init__(self, name: str, message: str, error: str = "INVALID_OPTION") -> None:
        self.name = name
        self.error = error
        super().__init__(message)


def iso(dt: datetime) -> str:
    """HubSpot's timestamp format: UTC, milliseconds, ``Z``."""
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    return dt.isoformat(timespec="milliseconds")[:-6] + "Z"  # C-level formatting: hot path


def parse_time(value: str) -> datetime:
    """Accept ms-epoch strings (search filters, hs_timestamp) and ISO 8601."""
    text = str(value).strip()
    if text.lstrip("-").isdigit():  # integer arithmetic: floats would blur milliseconds
        return _EPOCH + timedelta(milliseconds=int(text))
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _num(value: float | int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _ref(n: int | None) -> str | None:
    return None if n is None else str(n)


def _stage_value(stage: str) -> str:
    """Our stage labels ("Closed Won") as HubSpot internal values ("closedwon")."""
    return "".join(ch for ch in stage.lower() if ch.isalnum())


TASK_STATUS_OUT = {"Not Started": "NOT_STARTED", "Completed": "COMPLETED", "In Progress": "IN_PROGRESS"}
TASK_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")


def _render_company(a: EmuAccount) -> Props:
    return {
        "name": a.name,
        "domain": a.domain,
        "hubspot_owner_id": _ref(a.owner_n),
        "country": a.country,
        "zip": a.postal_code,
        "city": a.city,
        "industry": a.industry,
        "numberofemployees": "n/a" if a.malformed else _num(a.employees),
        "annualrevenue": _num(a.annual_revenue),
        "hs_parent_company_id": _ref(a.parent_n),
        "territory_lat": _num(a.lat),
        "territory_lon": _num(a.lon),
        "address": a.street,
        "phone": a.phone,
        "description": a.description,
        "createdate": iso(a.created_at),
        "hs_lastmodifieddate": iso(a.modified_at),
        "hs_object_id": str(a.n),
    }


def _render_deal(o: EmuOpportunity) -> Props:
    return {
        "dealname": o.name,
        "amount": _num(o.amount),
        "dealstage": _stage_value(o.stage),
        "pipeline": "default",
        "closedate": f"{o.close_date.isoformat()}T00:00:00.000Z" if o.close_date else None,
        "hubspot_owner_id": _ref(o.owner_n),
        "hs_is_closed": "true" if o.is_closed else "false",
        "createdate": iso(o.created_at),
        "hs_lastmodifieddate": iso(o.modified_at),
        "hs_object_id": str(o.n),
    }


def _activity_timestamp(a: EmuActivity) -> str:
    stamp = a.extra.get("timestamp")
    return iso(stamp) if isinstance(stamp, datetime) else iso(a.created_at)


def _render_task(a: EmuActivity) -> Props:
    return {
        "hs_timestamp": _activity_timestamp(a),
        "hs_task_subject": a.subject,
        "hs_task_body": a.body,
        "hs_task_status": TASK_STATUS_OUT.get(a.status, a.status.upper().replace(" ", "_")),
        "hs_task_priority": a.extra.get("priority", "MEDIUM"),
        "hubspot_owner_id": _ref(a.owner_n),
        "hs_createdate": iso(a.created_at),
        "hs_lastmodifieddate": iso(a.modified_at),
        "hs_object_id": str(a.n),
    }


def _render_note(a: EmuActivity) -> Props:
    return {
        "hs_timestamp": _activity_timestamp(a),
        "hs_note_body": a.body,
        "hubspot_owner_id": _ref(a.owner_n),
        "hs_createdate": iso(a.created_at),
        "hs_lastmodifieddate": iso(a.modified_at),
        "hs_object_id": str(a.n),
    }


@dataclass(frozen=True)
class HsType:
    """One HubSpot object type served by the emulator."""

    name: str  # URL name, e.g. "companies"
    object_type_id: str  # e.g. "0-2"
    singular: str  # e.g. "company"
    table: str  # CrmState.table kind
    activity_kind: str | None
    defaults: tuple[str, ...]
    render: Callable[[Any], Props]
    datetime_props: frozenset[str]
    number_props: frozenset[str]

    def rows(self, state: CrmState) -> dict[int, Any]:
        return state.table(self.table)

    def belongs(self, record: Any) -> bool:
        return self.activity_kind is None or record.kind == self.activity_kind


_ALWAYS = ("createdate", "hs_lastmodifieddate", "hs_object_id")
_ACT_ALWAYS = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")

TYPES: dict[str, HsType] = {
    t.name: t
    for t in (
        HsType("companies", "0-2", "company", "account", None, ("name", "domain", *_ALWAYS),
               _render_company, frozenset({"createdate", "hs_lastmodifieddate"}),
               frozenset({"numberofemployees", "annualrevenue", "hs_object_id", "territory_lat",
                          "territory_lon", "hs_parent_company_id"})),
        HsType("deals", "0-3", "deal", "opportunity", None,
               ("dealname", "amount", "dealstage", "closedate", "pipeline", *_ALWAYS),
               _render_deal, frozenset({"createdate", "hs_lastmodifieddate", "closedate"}),
               frozenset({"amount", "hs_object_id"})),
        HsType("contacts", "0-1", "contact", "contact", None,
               ("firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id"),
               lambda rec: render_contact(rec, iso), frozenset({"createdate", "lastmodifieddate"}),
               frozenset({"hs_object_id", "associatedcompanyid"})),
        HsType("tasks", "0-27", "task", "task", "task", ("hs_timestamp", *_ACT_ALWAYS),
               _render_task, frozenset({"hs_timestamp", "hs_createdate", "hs_lastmodifieddate"}),
               frozenset({"hs_object_id"})),
        HsType("notes", "0-46", "note", "note", "note", ("hs_timestamp", *_ACT_ALWAYS),
               _render_note, frozenset({"hs_timestamp", "hs_createdate", "hs_lastmodifieddate"}),
               frozenset({"hs_object_id"})),
    )
}
_ALIASES = {alias: t for t in TYPES.values() for alias in (t.name, t.singular, t.object_type_id)}


def resolve_type(name: str) -> HsType | None:
    """Object type by plural name, singular name or object type id ("0-2")."""
    return _ALIASES.get(name.lower())


def always_props(t: HsType) -> tuple[str, ...]:
    return _ACT_ALWAYS if t.activity_kind else _ALWAYS


class IdIndex:
    """Sorted record numbers per object type, rebuilt only when a table grows.

    Records are never removed from the state's dicts (deletes are soft), so the table size
    tells whether the index is stale; listing then costs O(log n + page) with bisect.
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, list[int]]] = {}

    def keys(self, state: CrmState, t: HsType) -> list[int]:
        rows = t.rows(state)
        cached = self._cache.get(t.name)
        if cached is None or cached[0] != len(rows):
            keys = sorted(n for n, r in rows.items() if t.belongs(r))
            cached = (len(rows), keys)
            self._cache[t.name] = cached
        return cached[1]

    def page(
        self, state: CrmState, t: HsType, start: int, limit: int, archived: bool
    ) -> tuple[list[Any], int | None]:
        """Up to ``limit`` records with number >= ``start``; and the next start or None."""
        keys = self.keys(state, t)
        rows = t.rows(state)
        out: list[Any] = []
        i = bisect.bisect_left(keys, start)
        while i < len(keys):
            record = rows[keys[i]]
            i += 1
            if record.deleted == archived:
                out.append(record)
                if len(out) == limit:
                    break
        more = any(rows[keys[j]].deleted == archived for j in range(i, len(keys)))
        return out, (out[-1].n + 1 if out and more else None)


def render_object(t: HsType, record: Any, wanted: list[str] | None, state: CrmState | None = None,
                  history: list[str] | None = None) -> dict[str, Any]:
    """The v3 object JSON with ``wanted`` properties (or the type's defaults); with ``state``,
    custom property values and ``propertiesWithHistory`` for the ``history`` names."""
    full = t.render(record)
    if state is not None:
        full.update(state.store.extension.get((t.table, record.n), {}))
    names = wanted if wanted else t.defaults
    props = {name: full[name] for name in names if name in full}
    for name in always_props(t):
        props[name] = full[name]
    body: dict[str, Any] = {
        "id": hs_id(t.singular, record.n),
        "properties": props,
        "createdAt": full.get("createdate") or full.get("hs_createdate") or iso(record.created_at),
        "updatedAt": full["hs_lastmodifieddate"],
        "archived": bool(record.deleted),
    }
    if record.deleted:
        body["archivedAt"] = iso(record.modified_at)
    if state is not None and history:
        body["propertiesWithHistory"] = {
            name: property_history(state, t.table, record, name, full.get(name)) for name in history}
    return body


def property_history(state: CrmState, kind: str, record: Any, name: str, current: str | None) -> list[dict[str, Any]]:
    """Newest first; a value never written through the emulator shows as one IMPORT entry."""
    changes = state.store.property_changes(kind, record.n, name)
    if not changes:
        if current is None:
            return []
        changes = [Change(current, record.created_at, "IMPORT")]
    out = []
    for c in changes:
        entry: dict[str, Any] = {"value": c.value if c.value is not None else "", "timestamp": iso(c.timestamp),
                                 "sourceType": c.source_type}
        if c.source_id is not None:
            entry["sourceId"] = c.source_id
        if c.user_id is not None:
            entry["updatedByUserId"] = c.user_id
        out.append(entry)
    return out


def render_owner(o: EmuOwner) -> dict[str, Any]:
    """A v3 owner; ``archived`` means the user was deactivated."""
    return {
        "id": hs_id("owner", o.n),
        "email": o.email,
        "firstName": o.first_name,
        "lastName": o.last_name,
        "userId": hubspot_user_id(o),
        "type": "PERSON",
        "createdAt": iso(o.created_at),
        "updatedAt": iso(o.modified_at),
        "archived": not o.is_active,
        "teams": [
            {"id": str(zlib.crc32(team.encode()) % 10_000_000), "name": team, "primary": i == 0}
            for i, team in enumerate(o.teams)
        ],
    }
