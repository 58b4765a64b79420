"""HubSpot properties and property groups over the schema registry (``/crm/v3/properties``).

Standard properties are registered per object type at start (with their types, field types,
groups and options); installs add groups and custom properties at run time. Enumeration
properties refuse values outside their options on every write path (:func:`split_custom`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from territory.emulator.state import CrmState
from territory.emulator.store import FieldDef, ObjectDef, PicklistValue, SchemaError

# name -> (label, type, fieldType, group); HubSpot's own spelling
_S, _N, _D, _E = ("string", "text"), ("number", "number"), ("datetime", "date"), ("enumeration", "select")
_STANDARD: dict[str, dict[str, tuple[str, tuple[str, str], str]]] = {
    "companies": {
        "name": ("Company name", _S, "companyinformation"), "domain": ("Company Domain Name", _S, "companyinformation"),
        "city": ("City", _S, "companyinformation"), "zip": ("Postal Code", _S, "companyinformation"),
        "country": ("Country/Region", _S, "companyinformation"), "industry": ("Industry", _E, "companyinformation"),
        "numberofemployees": ("Number of Employees", _N, "companyinformation"),
        "annualrevenue": ("Annual Revenue", _N, "companyinformation"),
        "hubspot_owner_id": ("Company owner", ("enumeration", "select"), "companyinformation"),
        "hs_parent_company_id": ("Parent Company", _N, "companyinformation"),
        "territory_lat": ("Territory latitude", _N, "companyinformation"),
        "territory_lon": ("Territory longitude", _N, "companyinformation"),
        "createdate": ("Create Date", _D, "companyinformation"),
        "hs_lastmodifieddate": ("Last Modified Date", _D, "companyinformation"),
        "hs_object_id": ("Record ID", _N, "companyinformation"),
        "address": ("Street Address", _S, "companyinformation"), "phone": ("Phone Number", _S, "companyinformation"),
        "description": ("Description", ("string", "textarea"), "companyinformation"),
    },
    "deals": {
        "dealname": ("Deal Name", _S, "dealinformation"), "amount": ("Amount", _N, "dealinformation"),
        "dealstage": ("Deal Stage", _E, "dealinformation"), "pipeline": ("Pipeline", _E, "dealinformation"),
        "closedate": ("Close Date", _D, "dealinformation"),
        "hubspot_owner_id": ("Deal owner", _E, "dealinformation"),
        "hs_is_closed": ("Is Deal Closed?", ("bool", "booleancheckbox"), "dealinformation"),
        "createdate": ("Create Date", _D, "dealinformation"),
        "hs_lastmodifieddate": ("Last Modified Date", _D, "dealinformation"),
        "hs_object_id": ("Record ID", _N, "dealinformation"),
    },
    "contacts": {
        "firstname": ("First Name", _S, "contactinformation"), "lastname": ("Last Name", _S, "contactinformation"),
        "email": ("Email", _S, "contactinformation"), "jobtitle": ("Job Title", _S, "contactinformation"),
        "phone": ("Phone Number", _S, "contactinformation"),
        "hubspot_owner_id": ("Contact owner", _E, "contactinformation"),
        "associatedcompanyid": ("Primary Associated Company ID", _N, "contactinformation"),
        "createdate": ("Create Date", _D, "contactinformation"),
        "lastmodifieddate": ("Last Modified Date", _D, "contactinformation"),
        "hs_object_id": ("Record ID", _N, "contactinformation"),
    },
    "tasks": {
        "hs_timestamp": ("Due date", _D, "task"), "hs_task_subject": ("Task Title", _S, "task"),
        "hs_task_body": ("Notes", ("string", "textarea"), "task"), "hs_task_status": ("Task Status", _E, "task"),
        "hs_task_priority": ("Priority", _E, "task"), "hubspot_owner_id": ("Assigned to", _E, "task"),
        "hs_createdate": ("Created at", _D, "task"), "hs_lastmodifieddate": ("Last Modified Date", _D, "task"),
        "hs_object_id": ("Record ID", _N, "task"),
    },
    "notes": {
        "hs_timestamp": ("Activity date", _D, "note"), "hs_note_body": ("Note body", ("string", "html"), "note"),
        "hubspot_owner_id": ("Activity assigned to", _E, "note"), "hs_createdate": ("Created at", _D, "note"),
        "hs_lastmodifieddate": ("Last Modified Date", _D, "note"), "hs_object_id": ("Record ID", _N, "note"),
    },
}
_OPTIONS = {("tasks", "hs_task_status"): ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
            ("tasks", "hs_task_priority"): ("LOW", "MEDIUM", "HIGH")}
_TYPES = {"string": "string", "number": "double", "date": "date", "datetime": "datetime",
          "enumeration": "picklist", "bool": "boolean", "phone_number": "phone"}
_STAMP = datetime(2020, 1, 1, tzinfo=UTC)


def register_hubspot(state: CrmState) -> None:
    """The standard properties and groups of every object type, once per state."""
    schema = state.schema
    with schema.lock:
        if schema.get("hubspot", "companies") is not None:
            return
        for type_name, props in _STANDARD.items():
            obj = schema.add_object("hubspot", ObjectDef(type_name, kind=type_name))
            groups = schema.groups.setdefault(type_name, {})
            for name, (label, (kind, field_type), group) in props.items():
                options = _OPTIONS.get((type_name, name), ())
                obj.add(_property(name, label, kind, field_type, group, [
                    {"label": o.replace("_", " ").title(), "value": o, "hidden": False} for o in options], custom=False))
                groups.setdefault(group, {"name": group, "label": group.title(), "displayOrder": -1, "archived": False})


def _property(name: str, label: str, kind: str, field_type: str, group: str, options: list[dict[str, Any]],
              *, custom: bool, unique: bool = False, description: str = "") -> FieldDef:
    return FieldDef(
        name, _TYPES.get(kind, "string"), label, group=group, custom=custom, unique=unique, description=description,
        picklist=[PicklistValue(str(o["value"]), str(o.get("label") or o["value"]), active=not o.get("hidden"))
                  for o in options],
        restricted=kind in ("enumeration", "bool") and custom,
        extra={"hs_type": kind, "field_type": field_type, "options": options,
               "display_order": 0, "form_field": False, "created_at": _STAMP, "updated_at": _STAMP},
    )


def render_property(f: FieldDef, type_name: str) -> dict[str, Any]:
    """A property as ``GET /crm/v3/properties/{type}/{name}`` answers it."""
    extra = f.extra
    return {
        "name": f.name, "label": f.label, "type": extra.get("hs_type", "string"),
        "fieldType": extra.get("field_type", "text"), "groupName": f.group, "description": f.description,
        "options": [{"label": o.get("label"), "value": o.get("value"), "displayOrder": o.get("displayOrder", i),
                     "hidden": bool(o.get("hidden"))} for i, o in enumerate(extra.get("options", []))],
        "displayOrder": extra.get("display_order", 0), "hasUniqueValue": f.unique, "hidden": False,
        "formField": bool(extra.get("form_field")), "calculated": False, "externalOptions": False,
        "hubspotDefined": not f.custom, "archived": False,
        "createdAt": extra["created_at"].isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "updatedAt": extra["updated_at"].isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "modificationMetadata": {"archivable": f.custom, "readOnlyDefinition": not f.custom,
                                 "readOnlyValue": f.name in ("hs_object_id", "createdate", "hs_lastmodifieddate")},
    }


def create_property(state: CrmState, type_name: str, body: dict[str, Any]) -> FieldDef:
    """A custom property from a ``PropertyCreate`` body; SchemaError on a duplicate or bad body."""
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
    if missing:
        raise SchemaError("VALIDATION_ERROR", f"Property is missing required fields: {', '.join(missing)}")
    obj = state.schema.get("hubspot", type_name)
    if obj is None:
        raise SchemaError("OBJECT_NOT_FOUND", f"Unable to infer object type from: {type_name}")
    name = str(body["name"])
    if obj.field(name) is not None:
        raise SchemaError("OBJECT_ALREADY_EXISTS", f"Property named '{name}' already exists")
    if body["groupName"] not in state.schema.groups.get(type_name, {}):
        raise SchemaError("VALIDATION_ERROR", f"property group {body['groupName']} does not exist")
    options = list(body.get("options") or [])
    if body["type"] == "bool" and not options:
        options = [{"label": "Yes", "value": "true", "hidden": False}, {"label": "No", "value": "false", "hidden": False}]
    now = state.now()
    f = _property(name, str(body["label"]), str(body["type"]), str(body["fieldType"]), str(body["groupName"]),
                  options, custom=True, unique=bool(body.get("hasUniqueValue")), description=str(body.get("description") or ""))
    f.extra.update(display_order=int(body.get("displayOrder") or -1), form_field=bool(body.get("formField")),
                   created_at=now, updated_at=now)
    state.schema.add_field("hubspot", type_name, f)
    return f


def split_custom(state: CrmState, type_name: str, props: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[tuple[str, str]]]:
    """(standard props, custom values, problems): custom props validated against their options."""
    obj = state.schema.get("hubspot", type_name)
    standard, custom, problems = {}, {}, []
    for name, value in props.items():
        f = obj.field(name) if obj is not None else None
        if f is None or not f.custom:
            standard[name] = value
            continue
        text = None if value is None or value == "" else str(value)
        if text is not None and f.extra.get("hs_type") in ("enumeration", "bool"):
            allowed = {str(o.get("value")) for o in f.extra.get("options", [])}
            bad = [part for part in text.split(";") if part not in allowed]
            if bad:
                problems.append((name, f"{bad[0]} was not one of the allowed options: {sorted(allowed)}"))
                continue
        custom[name] = text
    return standard, custom, problems
