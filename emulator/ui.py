"""Edits "through the CRM's UI" by a named user: what a manager does in a list view or record.

The API routes act as the integration user; a person's edit is different on both CRMs and the
approval loop depends on telling them apart:

- Salesforce: the save is checked like a UI save (active user; custom fields need Edit through
  a permission set's ``FieldPermissions`` unless the user is an admin; restricted picklists
  refuse unknown values); ``LastModifiedById`` and the history rows name the user.
- HubSpot: every changed property gets a ``propertiesWithHistory`` entry with ``sourceType``
  ``CRM_UI``, ``sourceId`` ``userId:<id>`` and ``updatedByUserId``.

Served in-process (:func:`ui_edit`) and as ``POST /_emulator/ui/{crm}/{object}/{id}`` with
``{"as": user, "set": {field: value}}`` (see :mod:`emulator.control`).
"""

from __future__ import annotations

from typing import Any

from territory.emulator import users
from territory.emulator._hubspot_objects import PropertyError, resolve_type
from territory.emulator.hubspot.writes import changes_for
from territory.emulator.hubspot_api import HubSpotApi
from territory.emulator.salesforce.records import save
from territory.emulator.salesforce_api import SalesforceApi
from territory.emulator.salesforce_objects import FieldProblem, SObjectDef, apply_writes
from territory.emulator.server import EmulatorServer
from territory.emulator.state import CrmState, EmuOwner, parse_sf_id, sf_id
from territory.emulator.store import Change


class UiEditRefused(Exception):
    """The CRM would refuse this save: ``status`` and the CRM's own error body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(str(body))
        self.status, self.body = status, body


def find_user(state: CrmState, ref: str | int) -> EmuOwner:
    """A user by n, Salesforce user id, HubSpot owner id / user id, email or full name."""
    owner = users.find_user(state, ref)
    if owner is None:
        raise UiEditRefused(404, [{"errorCode": "NOT_FOUND", "message": f"no user {str(ref).strip()!r}"}])
    return owner


def ui_edit(server: EmulatorServer, crm: str, obj: str, record_id: str, as_user: str | int,
            changes: dict[str, Any]) -> dict[str, Any]:
    """Save ``changes`` (the CRM's field names) on a record as ``as_user`` would in the UI."""
    state = server.state
    with state.lock:
        user = find_user(state, as_user)
        if not user.is_active:
            raise UiEditRefused(400, [{"errorCode": "INACTIVE_OWNER_OR_USER",
                                       "message": f"user {user.email} is inactive"}])
        if crm == "salesforce":
            _salesforce_edit(_flavour(server, SalesforceApi), obj, record_id, user, changes)
        elif crm == "hubspot":
            _flavour(server, HubSpotApi)
            _hubspot_edit(state, obj, record_id, user, changes)
        else:
            raise UiEditRefused(404, [{"errorCode": "NOT_FOUND", "message": f"unknown crm {crm!r}"}])
    return {"crm": crm, "object": obj, "id": record_id, "changed": sorted(changes)}


def _flavour(server: EmulatorServer, kind: type) -> Any:
    for flavour in server.flavours:
        if isinstance(flavour, kind):
            return flavour
    raise UiEditRefused(404, [{"errorCode": "NOT_FOUND", "message": f"{kind.__name__} is not served"}])


def _salesforce_edit(api: SalesforceApi, obj: str, record_id: str, user: EmuOwner, changes: dict[str, Any]) -> None:
    sobject = api.defs.get(obj.lower())
    parsed = parse_sf_id(record_id)
    rec = api.state.table(sobject.kind).get(parsed[1]) if sobject and parsed and parsed[0] == sobject.kind else None
    if sobject is None or rec is None or getattr(rec, "deleted", False):
        raise UiEditRefused(404, [{"errorCode": "NOT_FOUND", "message": f"no {obj} {record_id}"}])
    try:
        writes = apply_writes(sobject, changes, creating=False)
    except FieldProblem as exc:
        raise UiEditRefused(400, [{"errorCode": exc.code, "message": exc.message, "fields": exc.fields}]) from None
    if user.role != "admin":
        editable = _editable_fields(api, user, sobject.name)
        for name in changes:
            field = sobject.canonical(name) or name
            if field.endswith("__c") and f"{sobject.name}.{field}" not in editable:
                raise UiEditRefused(400, [{
                    "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "fields": [field],
                    "message": f"Unable to create/update fields: {field}. Please check the security settings of "
                               "this field and verify that it is read/write for your profile or permission set."}])
    save(api.state, api.defs, sobject, rec, writes, user.n)


def _rows(api: SalesforceApi, name: str) -> list[tuple[SObjectDef, Any]]:
    sobject = api.defs.get(name.lower())
    if sobject is None:
        return []
    return [(sobject, r) for r in api.state.table(sobject.kind).values() if not getattr(r, "deleted", False)]


def _editable_fields(api: SalesforceApi, user: EmuOwner, object_name: str) -> set[str]:
    """``Object.Field`` names the user may edit through their permission sets."""
    me = sf_id("owner", user.n)
    sets = {s.getters["PermissionSetId"](r) for s, r in _rows(api, "PermissionSetAssignment")
            if s.getters["AssigneeId"](r) == me}
    return {s.getters["Field"](r) for s, r in _rows(api, "FieldPermissions")
            if s.getters["ParentId"](r) in sets and s.getters["SobjectType"](r) == object_name
            and s.getters["PermissionsEdit"](r)}


def _hubspot_edit(state: CrmState, obj: str, record_id: str, user: EmuOwner, changes: dict[str, Any]) -> None:
    t = resolve_type(obj)
    record = t.rows(state).get(int(record_id)) if t is not None and record_id.isdigit() else None
    if t is None or record is None or not t.belongs(record) or record.deleted:
        raise UiEditRefused(404, {"status": "error", "category": "OBJECT_NOT_FOUND",
                                  "message": f"no {obj} {record_id}"})
    user_id = users.hubspot_user_id(user)
    source = Change(None, state.tick(), "CRM_UI", f"userId:{user_id}", user_id)
    props = {k: "" if v is None else str(v) for k, v in changes.items()}
    try:
        state.touch(record, **changes_for(state, t, record, props, source))
    except PropertyError as exc:
        raise UiEditRefused(400, {"status": "error", "category": "VALIDATION_ERROR", "message": str(exc),
                                  "errors": [{"code": exc.error, "context": {"propertyName": [exc.name]}}]}) from None
