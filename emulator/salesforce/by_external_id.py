"""Records addressed by an external id, and the POST form of the Collections retrieve.

- ``GET /sobjects/{Type}/{Field}/{value}``: the record (200), its URLs when several match
  (300), 404 when none does.
- ``PATCH /sobjects/{Type}/{Field}/{value}``: upsert. 201 ``{id, success, errors, created:
  true}`` when created; when updated 200 ``{..., created: false}`` from API v46 on and 204
  with no body before; 300 with the matching records' URLs when several match; 404
  ``NOT_FOUND`` for a field that does not exist; ``?updateOnly=true`` answers 404 instead of
  creating.
- ``POST /composite/sobjects/{Type}`` ``{"ids": [...], "fields": [...]}``: up to 2,000
  records in id order, ``null`` for ids that are unknown or deleted.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import unquote

from territory.emulator.salesforce_collections import external_id_field, matches_by_external_id
from territory.emulator.salesforce_objects import FieldProblem, SObjectDef, apply_writes
from territory.emulator.server import Request, Response
from territory.emulator.state import CrmState, sf_id

RETRIEVE_LIMIT = 2000
CREATED_FLAG_SINCE = 46.0  # the upsert answer carries `created` (200 on update) from this version


class SalesforceApi(Protocol):
    """What these routes need from the Salesforce API flavour."""

    state: CrmState
    defs: dict[str, SObjectDef]

    def _sobject(self, name: str, *, write: bool = False) -> SObjectDef | Response: ...
    def _record(self, sobject: SObjectDef, record_id: str) -> Any | Response: ...
    def _insert(self, sobject: SObjectDef, changes: dict[str, Any]) -> Any: ...
    def _apply(self, sobject: SObjectDef, rec: Any, changes: dict[str, Any]) -> None: ...
    def _render(self, sobject: SObjectDef, rec: Any, version: str, fields: list[str] | None = None) -> dict[str, Any]: ...


def _error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    return Response(status, [{"message": message, "errorCode": code, "fields": fields or []}])


def _url(version: str, sobject: SObjectDef, rec: Any) -> str:
    return f"/services/data/v{version}/sobjects/{sobject.name}/{sf_id(sobject.kind, rec.n)}"


def _lookup(api: SalesforceApi, req: Request, *, write: bool) -> tuple[SObjectDef, str, Any, list[Any]] | Response:
    """(sobject, field, value, live matches) for ``/sobjects/{t}/{f}/{value}``, or an error."""
    m = req.match
    assert m is not None
    sobject = api._sobject(m["t"], write=write)
    if isinstance(sobject, Response):
        return sobject
    field = external_id_field(sobject, m["f"])
    if isinstance(field, dict):
        problem = field["errors"][0]
        status = 404 if problem["statusCode"] == "NOT_FOUND" else 400
        return _error(status, problem["statusCode"], problem["message"], [m["f"]])
    value: Any = unquote(m["value"])
    schema_field = sobject.schema.field(field) if sobject.schema is not None else None
    if schema_field is not None and schema_field.type in ("int", "double"):
        try:
            value = float(value) if schema_field.type == "double" else int(value)
        except ValueError:
            return _error(400, "MALFORMED_ID", f"{field}: {value} is not a number", [field])
    return sobject, field, value, matches_by_external_id(api, sobject, field, value)  # type: ignore[arg-type]


def _several(version: str, sobject: SObjectDef, found: list[Any]) -> Response:
    return Response(300, [_url(version, sobject, rec) for rec in found])


def get_by_external_id(api: SalesforceApi, req: Request) -> Response:
    with api.state.lock:
        looked = _lookup(api, req, write=False)
        if isinstance(looked, Response):
            return looked
        sobject, _, _, found = looked
        version = req.match["v"]  # type: ignore[index]
        if not found:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        if len(found) > 1:
            return _several(version, sobject, found)
        return Response(200, api._render(sobject, found[0], version, req.args("fields") or None))


def upsert_by_external_id(api: SalesforceApi, req: Request) -> Response:
    body = json_object(req)
    with api.state.lock:
        looked = _lookup(api, req, write=True)
        if isinstance(looked, Response):
            return looked
        sobject, field, value, found = looked
        version = req.match["v"]  # type: ignore[index]
        repeated = [k for k in body if sobject.canonical(k) in ("Id", field)]
        if repeated:
            return _error(400, "INVALID_FIELD", f"The external id field {field} or Id must not be set in the "
                          "request body of an upsert; it is given in the URL", repeated)
        if len(found) > 1:
            return _several(version, sobject, found)
        if not found:
            if (req.arg("updateOnly") or "").lower() == "true":
                return _error(404, "NOT_FOUND", "The requested resource does not exist")
            if sobject.factory is None:
                return _error(403, "INSUFFICIENT_ACCESS", f"insufficient access rights to create {sobject.name}")
            changes = apply_writes(sobject, {**body, field: value}, creating=True)
            rec = api._insert(sobject, changes)
            return Response(201, {"id": sf_id(sobject.kind, rec.n), "success": True, "errors": [], "created": True})
        api._apply(sobject, found[0], apply_writes(sobject, body, creating=False))
        if float(version) < CREATED_FLAG_SINCE:
            return Response(204)
        return Response(200, {"id": sf_id(sobject.kind, found[0].n), "success": True, "errors": [], "created": False})


def retrieve(api: SalesforceApi, sobject: SObjectDef, ids: list[str], fields: list[str], version: str,
             limit: int) -> Response:
    """Records by id with ``fields`` (``null`` for unknown/deleted ids), GET and POST alike."""
    if not fields:
        return _error(400, "MALFORMED_QUERY", "The fields parameter is required")
    if len(ids) > limit:
        return _error(400, "EXCEEDED_ID_LIMIT", f"no more than {limit} ids per call")
    out: list[Any] = []
    with api.state.lock:
        for record_id in ids:
            rec = api._record(sobject, str(record_id))
            out.append(None if isinstance(rec, Response) else api._render(sobject, rec, version, fields))
    return Response(200, out)


def retrieve_posted(api: SalesforceApi, req: Request) -> Response:
    sobject = api._sobject(req.match["t"])  # type: ignore[index]
    if isinstance(sobject, Response):
        return sobject
    body = json_object(req)
    ids, fields = body.get("ids"), body.get("fields")
    if not isinstance(ids, list) or not isinstance(fields, list):
        return _error(400, "JSON_PARSER_ERROR", "The request body must hold the lists ids and fields")
    return retrieve(api, sobject, ids, fields, req.match["v"], RETRIEVE_LIMIT)  # type: ignore[index]


def json_object(req: Request) -> dict[str, Any]:
    """The request body as a JSON object, or FieldProblem JSON_PARSER_ERROR."""
    try:
        body = req.json()
    except ValueError:
        raise FieldProblem("JSON_PARSER_ERROR", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise FieldProblem("JSON_PARSER_ERROR", "The request body must be a JSON object")
    return body
