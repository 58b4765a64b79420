"""sObject Collections (``/composite/sobjects``) for the Salesforce emulator.

Every record is validated first, then applied, all under the state lock. The response is
always 200 with one result per input in request order; with ``allOrNone`` nothing is
applied when any record fails and the good ones report ALL_OR_NONE_OPERATION_ROLLED_BACK.
"""

from __future__ import annotations

from typing import Any, Protocol

from territory.emulator.salesforce.records import unique_problem
from territory.emulator.salesforce_objects import FieldProblem, SObjectDef, apply_writes
from territory.emulator.server import Response
from territory.emulator.state import CrmState, sf_id


class SalesforceApi(Protocol):
    """What collections need from the Salesforce API flavour (kept here so neither module
    imports the other)."""

    state: CrmState
    defs: dict[str, SObjectDef]
    locked_ids: set[str]

    def _sobject(self, name: str, *, write: bool = False) -> SObjectDef | Response: ...
    def _record(self, sobject: SObjectDef, record_id: str) -> Any | Response: ...
    def _insert(self, sobject: SObjectDef, changes: dict[str, Any]) -> Any: ...
    def _apply(self, sobject: SObjectDef, rec: Any, changes: dict[str, Any]) -> None: ...

_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}


def _failure(record_id: str | None, code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"id": record_id} if record_id else {}
    result.update(success=False, errors=[{"statusCode": code, "message": message, "fields": fields or []}])
    return result


def _prepare(api: SalesforceApi, record: Any, creating: bool) -> tuple[SObjectDef, Any, dict[str, Any]] | dict[str, Any]:
    """(sobject, existing record or None, changes) or a failure result."""
    if not isinstance(record, dict):
        return _failure(None, "JSON_PARSER_ERROR", "each record must be a JSON object")
    record_id = record.get("id") or record.get("Id")
    type_name = (record.get("attributes") or {}).get("type")
    if not type_name:
        return _failure(record_id, "INVALID_TYPE", "Each record must have attributes.type")
    sobject = api._sobject(type_name, write=True)
    if isinstance(sobject, Response):
        error = sobject.body[0]
        code = "INSUFFICIENT_ACCESS_OR_READONLY" if sobject.status == 403 else "INVALID_TYPE"
        return _failure(record_id, code, error["message"])
    existing = None
    if not creating:
        if not record_id:
            return _failure(None, "MISSING_ARGUMENT", "Id not specified in an update call")
        found = api._record(sobject, str(record_id))
        if isinstance(found, Response):
            code = found.body[0]["errorCode"]
            code = "ENTITY_IS_DELETED" if code == "ENTITY_IS_DELETED" else "INVALID_ID_FIELD"
            return _failure(record_id, code, found.body[0]["message"])
        existing = found
        if record_id in api.locked_ids:
            api.locked_ids.discard(record_id)
            return _failure(record_id, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
    elif sobject.factory is None:
        return _failure(None, "INSUFFICIENT_ACCESS_OR_READONLY", f"cannot create {sobject.name}")
    try:
        changes = apply_writes(sobject, record, creating=creating)
    except FieldProblem as problem:
        return _failure(record_id, problem.code, problem.message, problem.fields)
    duplicate = unique_problem(api.state, sobject, existing, changes)
    if duplicate is not None:
        return _failure(record_id, duplicate.code, duplicate.message, duplicate.fields)
    return sobject, existing, changes


def run_collection_write(api: SalesforceApi, records: list[Any], all_or_none: bool, *, creating: bool) -> list[dict[str, Any]]:
    """POST (create) or PATCH (update) up to 200 records; one result per record."""
    with api.state.lock:
        prepared = [_prepare(api, record, creating) for record in records]
        failed = any(isinstance(p, dict) for p in prepared)
        if all_or_none and failed:
            return [p if isinstance(p, dict) else _rolled_back(p, records[i]) for i, p in enumerate(prepared)]
        results: list[dict[str, Any]] = []
        for item in prepared:
            if isinstance(item, dict):
                results.append(item)
                continue
            sobject, existing, changes = item
            if existing is None:
                existing = api._insert(sobject, changes)
            else:
                api._apply(sobject, existing, changes)
            results.append({"id": sf_id(sobject.kind, existing.n), "success": True, "errors": []})
        return results


def _rolled_back(item: tuple[SObjectDef, Any, dict[str, Any]], record: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"id": record.get("id") or record.get("Id")} if item[1] is not None else {}
    result.update(success=False, errors=[dict(_ROLLED_BACK)])
    return result


def run_collection_delete(api: SalesforceApi, ids: list[str], all_or_none: bool) -> list[dict[str, Any]]:
    """Delete up to 200 records by id (any type); one result per id."""
    with api.state.lock:
        found: list[Any] = []
        for record_id in ids:
            sobject = next((d for d in api.defs.values() if record_id.startswith(sf_id(d.kind, 0)[:3])), None)
            rec = api._record(sobject, record_id) if sobject is not None else None
            if sobject is None or isinstance(rec, Response) or sobject.name == "User":
                found.append(_failure(record_id, "ENTITY_IS_DELETED" if isinstance(rec, Response) and rec.body[0]["errorCode"] == "ENTITY_IS_DELETED" else "INVALID_ID_FIELD", "invalid record id"))
            else:
                found.append(rec)
        if all_or_none and any(isinstance(f, dict) for f in found):
            return [f if isinstance(f, dict) else {"id": ids[i], "success": False, "errors": [dict(_ROLLED_BACK)]} for i, f in enumerate(found)]
        results = []
        for record_id, rec in zip(ids, found):
            if isinstance(rec, dict):
                results.append(rec)
            else:
                api.state.delete(rec)
                results.append({"id": record_id, "success": True, "errors": []})
        return results


def external_id_field(sobject: SObjectDef, name: str) -> str | dict[str, Any]:
    """The proper spelling of an external-id field of ``sobject``, or a failure result."""
    canonical = sobject.canonical(name)
    schema_field = sobject.schema.field(canonical) if canonical and sobject.schema is not None else None
    if canonical is None:
        return _failure(None, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {name}")
    if canonical != "Id" and (schema_field is None or not schema_field.external_id):
        return _failure(None, "INVALID_FIELD", f"Field {canonical} is not an external id field on {sobject.name}")
    return canonical


def matches_by_external_id(api: SalesforceApi, sobject: SObjectDef, field: str, value: Any) -> list[Any]:
    """Live records of ``sobject`` whose ``field`` equals ``value``."""
    getter = sobject.getters[field]
    return [r for r in api.state.table(sobject.kind).values()
            if not getattr(r, "deleted", False) and sobject.include(r) and value is not None and getter(r) == value]


def run_collection_upsert(api: SalesforceApi, type_name: str, field_name: str, records: list[Any],
                          all_or_none: bool) -> list[dict[str, Any]] | Response:
    """``PATCH /composite/sobjects/{Type}/{ExtIdField}``: create or update each record by its
    external id; results carry ``created``."""
    sobject = api._sobject(type_name, write=True)
    if isinstance(sobject, Response):
        return sobject
    field = external_id_field(sobject, field_name)
    if isinstance(field, dict):
        return Response(400, [{"errorCode": field["errors"][0]["statusCode"], "message": field["errors"][0]["message"]}])
    with api.state.lock:
        prepared: list[Any] = []
        for record in records:
            if not isinstance(record, dict) or record.get(field) in (None, ""):
                prepared.append(_failure(None, "MISSING_ARGUMENT", f"{field} not specified"))
                continue
            found = matches_by_external_id(api, sobject, field, record[field])
            if len(found) > 1:
                prepared.append(_failure(None, "DUPLICATE_EXTERNAL_ID",
                                         f"{field}: more than one record found for external id field"))
                continue
            try:
                changes = apply_writes(sobject, record, creating=not found)
            except FieldProblem as problem:
                prepared.append(_failure(None, problem.code, problem.message, problem.fields))
                continue
            duplicate = unique_problem(api.state, sobject, found[0] if found else None, changes)
            if duplicate is not None:
                prepared.append(_failure(None, duplicate.code, duplicate.message, duplicate.fields))
                continue
            prepared.append((found[0] if found else None, changes))
        if all_or_none and any(isinstance(p, dict) for p in prepared):
            return [p if isinstance(p, dict) else {"success": False, "errors": [dict(_ROLLED_BACK)]} for p in prepared]
        results: list[dict[str, Any]] = []
        for item in prepared:
            if isinstance(item, dict):
                results.append(item)
                continue
            existing, changes = item
            if existing is None:
                rec = api._insert(sobject, changes)
            else:
                api._apply(sobject, existing, changes)
                rec = existing
            results.append({"id": sf_id(sobject.kind, rec.n), "success": True, "errors": [],
                            "created": existing is None})
        return results
