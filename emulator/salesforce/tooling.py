"""Tooling API queries over the schema registry: ``GET /tooling/query?q=`` on CustomObject and
CustomField, answered as Salesforce does (``{size, totalSize, done, queryLocator, entityTypeName,
records}``).

CustomObject rows: ``Id`` (``01I…``), ``DeveloperName`` (the name without ``__c``),
``NamespacePrefix``, ``ManageableState``. CustomField rows: ``Id`` (``00N…``), ``DeveloperName``,
``TableEnumOrId`` (the custom object's ``01I`` id, or a standard object's API name),
``NamespacePrefix``, ``ManageableState``. Ids are stable per name.
"""

from __future__ import annotations

import zlib
from typing import Any

from territory.emulator.server import Request, Response
from territory.emulator.soql import SoqlError, compile_where, parse_soql
from territory.emulator.state import CrmState
from territory.emulator.store import FieldDef, ObjectDef


def tooling_id(prefix: str, full_name: str) -> str:
    """A stable 18-character id for a metadata component."""
    return f"{prefix}{zlib.crc32(full_name.lower().encode()) % 10**12:012d}AAA"


def _object_row(obj: ObjectDef) -> dict[str, Any]:
    return {"Id": tooling_id("01I", obj.name), "DeveloperName": obj.name.removesuffix("__c"),
            "NamespacePrefix": None, "ManageableState": "unmanaged", "FullName": obj.name}


def _field_row(obj: ObjectDef, f: FieldDef) -> dict[str, Any]:
    table = tooling_id("01I", obj.name) if obj.custom else obj.name
    full_name = f"{obj.name}.{f.name}"
    return {"Id": f.extra.get("tooling_id") or tooling_id("00N", full_name), "DeveloperName": f.name.removesuffix("__c"),
            "TableEnumOrId": table, "NamespacePrefix": None, "ManageableState": "unmanaged", "FullName": full_name}


def _rows(state: CrmState, entity: str) -> list[dict[str, Any]]:
    objects = [o for o in state.schema.objects["salesforce"].values() if not o.extra.get("history_of")]
    if entity == "customobject":
        return [_object_row(o) for o in objects if o.custom]
    if entity == "customfield":
        return [_field_row(o, f) for o in objects for f in o.fields.values() if f.custom]
    raise SoqlError("INVALID_TYPE", f"sObject type '{entity}' is not supported by the emulator's Tooling API")


def tooling_query(state: CrmState, req: Request) -> Response:
    text = req.arg("q")
    if not text:
        return Response(400, [{"message": "A query string has to be specified", "errorCode": "MALFORMED_QUERY"}])
    query = parse_soql(text)
    entity = query.sobject.lower()
    with state.schema.lock:
        rows = _rows(state, entity)
    names = {key.lower(): key for key in (rows[0] if rows else _field_row(ObjectDef("X__c", custom=True), FieldDef("Y__c")))}

    def getter_for(name: str) -> Any:
        key = names.get(name.lower())
        if key is None:
            raise SoqlError("INVALID_FIELD", f"No such column '{name}' on entity '{query.sobject}'")
        return lambda row: row.get(key)

    selected = [getter_for(name) and names[name.lower()] for name in query.fields]
    if query.where is not None:
        keep = compile_where(query.where, getter_for)
        rows = [r for r in rows if keep(r)]
    rows = rows[query.offset or 0:][:query.limit] if query.limit is not None else rows[query.offset or 0:]
    type_name = "CustomObject" if entity == "customobject" else "CustomField"
    records = [{"attributes": {"type": type_name, "url": f"/services/data/v{req.match['v']}/tooling/sobjects/"  # type: ignore[index]
                               f"{type_name}/{r['Id']}"}, **{k: r[k] for k in selected}} for r in rows]
    return Response(200, {"size": len(records), "totalSize": len(records), "done": True, "queryLocator": None,
                          "entityTypeName": type_name, "records": [] if query.count_only else records})
