"""Writes through the HubSpot view: written properties validated and turned into state changes,
new records built, upserts' unique-property lookups, and property history for edits made
outside the API.

Every write notes its values in the property history with its source: the private app
(``INTEGRATION``) for API calls, ``CRM_UI`` with the user for UI edits (:mod:`emulator.ui`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from territory.emulator._hubspot_objects import (
    TASK_STATUS_OUT,
    TASK_STATUSES,
    TYPES,
    HsType,
    PropertyError,
    Props,
    parse_time,
)
from territory.emulator.hubspot.contacts import contact_changes
from territory.emulator.hubspot.properties import split_custom
from territory.emulator.state import CrmState, EmuAccount, EmuActivity, EmuOpportunity
from territory.emulator.store import Change, Record
from territory.emulator.users import is_hubspot_owner

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TASK_STATUS_IN = {v: k for k, v in TASK_STATUS_OUT.items()}


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
              "city": "city", "industry": "industry", "address": "street", "phone": "phone",
              "description": "description"}
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
    changes["property_history"] = (source, written, _untracked_values(state, t, record, written))
    return changes


def _untracked_values(state: CrmState, t: HsType, record: Any, names: dict[str, Any]) -> dict[str, str]:
    """Current values of the written properties that have no history yet (seeded or imported),
    so the history lists them as the oldest (``IMPORT``) entry."""
    if record is None:
        return {}
    current = with_custom_values(t, state).render(record)
    return {name: str(current[name]) for name in names
            if current.get(name) is not None and not state.store.property_changes(t.table, record.n, name)}


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
        setattr(record, key, value)
    record.created_at = record.modified_at = state.tick()
    state.note_extras(record, extension, history)
    return record


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
