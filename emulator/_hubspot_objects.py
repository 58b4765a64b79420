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
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from territory.emulator.hubspot.contacts import contact_changes, render_contact
from territory.emulator.hubspot.properties import split_custom
from territory.emulator.state import (
    CrmState,
    EmuAccount,
    EmuActivity,
    EmuOpportunity,
    EmuOwner,
    hs_id,
)
from territory.emulator.store import Change, Record
from territory.emulator.users import hubspot_user_id, is_hubspot_owner

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


_TASK_STATUS_OUT = {"Not Started": "NOT_STARTED", "Completed": "COMPLETED", "In Progress": "IN_PROGRESS"}
_TASK_STATUS_IN = {v: k for k, v in _TASK_STATUS_OUT.items()}
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
        "hs_task_status": _TASK_STATUS_OUT.get(a.status, a.status.upper().replace(" ", "_")),
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


def with_custom_values(t: HsType, state: CrmState) -> HsType:
    """``t`` whose rendering includes custom property values (search filters and sorts on them)."""
    render, extension = t.render, state.store.extension
    return replace(t, render=lambda record: {**render(record), **extension.get((t.table, record.n), {})})


def unique_property(state: CrmState, t: HsType, name: str) -> bool:
    """Whether ``name`` identifies records of ``t`` for upserts (hasUniqueValue; contacts' email)."""
    obj = state.schema.get("hubspot", t.name)
    f = obj.field(name) if obj is not None and name else None
    return f is not None and (f.unique or (t.name == "contacts" and name == "email"))


def records_by_value(state: CrmState, t: HsType, name: str) -> dict[str, Any]:
    """Live records of ``t`` by their value of property ``name``."""
    render = with_custom_values(t, state).render
    return {str(value): r for r in t.rows(state).values()
            if t.belongs(r) and not r.deleted and (value := render(r).get(name)) not in (None, "")}


_STAMPS = frozenset({"createdate", "hs_createdate", "hs_lastmodifieddate", "lastmodifieddate", "hs_object_id"})


def type_of_kind(kind: str) -> HsType | None:
    """The HubSpot type whose records live in the state table ``kind``."""
    return next((t for t in TYPES.values() if t.table == kind), None)


def note_untracked_edit(state: CrmState, t: HsType, record: Any, before: Props) -> None:
    """History entries (``CRM_UI``, no user) for properties an edit outside the API changed;
    a property without history first gets its old value as an ``IMPORT`` entry."""
    after = t.render(record)
    for name, value in after.items():
        old = before.get(name)
        if name in _STAMPS or old == value:
            continue
        if not state.store.property_changes(t.table, record.n, name) and old is not None:
            state.store.note_property(t.table, record.n, name, Change(old, record.created_at, "IMPORT"))
        state.store.note_property(t.table, record.n, name, Change(value, record.modified_at, "CRM_UI"))


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


# writes ------------------------------------------------------------------------------------
def _owner_ref(state: CrmState, value: str | None) -> int | None:
    if value in (None, ""):
        return None
    text = str(value)
    owner = state.owners.get(int(text)) if text.isdigit() else None
    if owner is None or not owner.is_active or not is_hubspot_owner(owner):
        raise PropertyError("hubspot_owner_id", f"{text} was not one of the allowed options")
    return owner.n


def _int(name: str, value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(float(str(value)))
    except ValueError:
        raise PropertyError(name, f"{value!r} is not a valid number", "INVALID_INTEGER") from None


def _float(name: str, value: str | None) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(str(value))
    except ValueError:
        raise PropertyError(name, f"{value!r} is not a valid number", "INVALID_FLOAT") from None


def _company_changes(state: CrmState, props: dict[str, Any]) -> dict[str, Any]:
    simple = {"name": "name", "domain": "domain", "country": "country", "zip": "postal_code",
              "city": "city", "industry": "industry"}
    out: dict[str, Any] = {}
    for name, value in props.items():
        if name in simple:
            out[simple[name]] = value
        elif name == "hubspot_owner_id":
            out["owner_n"] = _owner_ref(state, value)
        elif name == "numberofemployees":
            out["employees"] = _int(name, value)
        elif name == "annualrevenue":
            out["annual_revenue"] = _float(name, value)
        elif name == "hs_parent_company_id":
            out["parent_n"] = _int(name, value)
        elif name in ("territory_lat", "territory_lon"):
            out["lat" if name.endswith("lat") else "lon"] = _float(name, value)
        else:
            raise PropertyError(name, f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST")
    return out


def _deal_changes(state: CrmState, props: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in props.items():
        if name == "dealname":
            out["name"] = value
        elif name == "amount":
            out["amount"] = _float(name, value)
        elif name == "dealstage":
            out["stage"] = value
        elif name == "closedate":
            out["close_date"] = parse_time(value).date() if value else date.today()
        elif name == "hubspot_owner_id":
            out["owner_n"] = _owner_ref(state, value)
        elif name == "hs_is_closed":
            out["is_closed"] = str(value).lower() == "true"
        elif name != "pipeline":
            raise PropertyError(name, f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST")
    return out


def _activity_changes(state: CrmState, t: HsType, props: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fields = {"hs_task_subject": "subject", "hs_task_body": "body", "hs_note_body": "body"}
    allowed = {"hs_timestamp", "hubspot_owner_id"} | (
        {"hs_task_subject", "hs_task_body", "hs_task_status", "hs_task_priority"}
        if t.name == "tasks" else {"hs_note_body"})
    new_extra = dict(extra)
    for name, value in props.items():
        if name not in allowed:
            raise PropertyError(name, f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST")
        if name in fields:
            out[fields[name]] = value or ""
        elif name == "hubspot_owner_id":
            out["owner_n"] = _owner_ref(state, value)
        elif name == "hs_timestamp":
            try:
                new_extra["timestamp"] = parse_time(value)
            except (TypeError, ValueError):
                raise PropertyError(name, f"{value!r} is not a valid datetime", "INVALID_DATE") from None
        elif name == "hs_task_status":
            if value not in TASK_STATUSES:
                raise PropertyError(name, f"{value} was not one of the allowed options")
            out["status"] = _TASK_STATUS_IN.get(value, value.replace("_", " ").title())
        elif name == "hs_task_priority":
            new_extra["priority"] = value
    out["extra"] = new_extra
    return out


API_SOURCE = Change(None, _EPOCH, "INTEGRATION", "777")  # the private app's writes


def changes_for(state: CrmState, t: HsType, record: Any, props: dict[str, Any],
                source: Change = API_SOURCE) -> dict[str, Any]:
    """Translate written HubSpot properties into state field changes (validated).

    Custom properties land in ``extension``; every written value is noted in the property
    history with ``source`` (the private app by default, a user for UI edits).
    """
    standard, custom, problems = split_custom(state, t.name, props)
    if problems:
        raise PropertyError(problems[0][0], problems[0][1])
    if t.name == "companies":
        changes = _company_changes(state, standard)
    elif t.name == "deals":
        changes = _deal_changes(state, standard)
    elif t.name == "contacts":
        try:
            changes = contact_changes(state, standard, _owner_ref)
        except ValueError as exc:
            raise PropertyError(getattr(exc, "name", "?"), str(exc), "PROPERTY_DOESNT_EXIST") from None
    else:
        changes = _activity_changes(state, t, standard, record.extra if record is not None else {})
    if custom:
        changes["extension"] = custom
    written = {k: None if v is None or v == "" else str(v) for k, v in props.items()}
    changes["property_history"] = (source, written)
    return changes


def new_record(state: CrmState, t: HsType, props: dict[str, Any]) -> Any:
    """Validate and build (but do not store) a record created through the API."""
    n = state.next_n()
    while n in t.rows(state):
        n = state.next_n()
    if t.activity_kind is not None and not props.get("hs_timestamp"):
        raise PropertyError("hs_timestamp", "hs_timestamp is required", "REQUIRED_PROPERTY")
    changes = changes_for(state, t, None, props)
    extension, history = changes.pop("extension", None), changes.pop("property_history", None)
    if t.name == "contacts":
        record: Any = Record(n=n, kind="contact")
    elif t.name == "companies":
        record = EmuAccount(n=n, name="", owner_n=None)
    elif t.name == "deals":
        record = EmuOpportunity(n=n, name="", account_n=None, owner_n=None, amount=None,
                                stage="appointmentscheduled", close_date=date.today())
    else:
        record = EmuActivity(n=n, kind=t.activity_kind or "", account_n=None, owner_n=None,
                             subject="", body="")
    for key, value in changes.items():
        if isinstance(record, Record):
            record.values[key] = value
        else:
            setattr(record, key, value)
    record.created_at = record.modified_at = state.tick()
    state.note_extras(record, extension, history)
    return record
