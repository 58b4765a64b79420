"""The Metadata API endpoint (``POST /services/Soap/m/{version}``) and Tooling ``CustomField``.

The SOAP endpoint takes the session from the ``SessionHeader`` (never a Bearer header); a
bad session is the fault ``sf:INVALID_SESSION_ID`` with HTTP 500, as Salesforce answers.
"""

from __future__ import annotations

from typing import Any

from territory.emulator.salesforce import metadata
from territory.emulator.salesforce.metadata_xml import (
    SoapRequest,
    as_list,
    envelope,
    fault,
    read_envelope,
    truthy,
)
from territory.emulator.salesforce.records import default_actor, refresh, save
from territory.emulator.salesforce.tooling import tooling_id
from territory.emulator.salesforce_objects import SObjectDef, apply_writes
from territory.emulator.server import Request, Response
from territory.emulator.state import CrmState
from territory.emulator.store import SchemaError

_XML = "text/xml; charset=utf-8"
_PERMISSIONS = ("Read", "Create", "Edit", "Delete", "ViewAllRecords", "ModifyAllRecords")


class MetadataApi:
    """Serves schema changes for one Salesforce flavour (its ``defs`` are refreshed in place)."""

    def __init__(self, state: CrmState, defs: dict[str, SObjectDef], tokens: set[str]) -> None:
        self.state = state
        self.defs = defs
        self.tokens = tokens

    def soap(self, req: Request) -> Response:
        try:
            call = SoapRequest(req.body)
        except Exception:  # malformed XML, no Body
            return Response(500, fault("INVALID_XML", "The request is not a SOAP envelope"), content_type=_XML)
        if call.session_id not in self.tokens:
            return Response(500, fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session"),
                            content_type=_XML)
        op = call.operation
        if op in ("createMetadata", "upsertMetadata", "updateMetadata"):
            if len(call.components) > metadata.MAX_COMPONENTS:
                return Response(500, fault("EXCEEDED_MAX_COMPONENTS", "no more than 10 components per call"), content_type=_XML)
            with self.state.lock:
                results = [self._save(kind, meta, op) for kind, meta in call.components]
                refresh(self.state, self.defs)
            return Response(200, envelope(op, results), content_type=_XML)
        if op == "readMetadata":
            found = [(call.type_name, body) for name in call.full_names
                     if (body := metadata.read_component(self.state, call.type_name, name)) is not None]
            return Response(200, read_envelope(found), content_type=_XML)
        if op == "deleteMetadata":
            with self.state.lock:
                results = [self._delete(call.type_name, name) for name in call.full_names]
                refresh(self.state, self.defs)
            return Response(200, envelope(op, results), content_type=_XML)
        return Response(500, fault("UNKNOWN_EXCEPTION", f"{op} is not served by the emulator"), content_type=_XML)

    def _save(self, kind: str, meta: dict[str, Any], op: str) -> dict[str, Any]:
        full_name = str(meta.get("fullName", ""))
        replace = op != "createMetadata"
        existed = metadata.read_component(self.state, kind, full_name) is not None
        try:
            if kind == "CustomObject":
                metadata.custom_object(self.state, meta, replace=replace)
            elif kind == "CustomField":
                metadata.custom_field(self.state, meta, replace=replace)
            elif kind in metadata.STORED_ONLY:
                metadata.store_component(self.state, kind, meta, replace=replace, grant=self._grant)
            else:
                raise SchemaError("INVALID_TYPE", f"the emulator does not serve {kind} metadata")
        except SchemaError as exc:
            return {"fullName": full_name, "success": False,
                    "errors": {"message": str(exc), "statusCode": exc.code}}
        result: dict[str, Any] = {"fullName": full_name, "success": True}
        if op == "upsertMetadata":
            result = {"created": not existed, **result}
        return result

    def _delete(self, kind: str, full_name: str) -> dict[str, Any]:
        if metadata.delete_component(self.state, kind, full_name):
            return {"fullName": full_name, "success": True}
        return {"fullName": full_name, "success": False,
                "errors": {"message": f"no {kind} named {full_name}", "statusCode": "INVALID_CROSS_REFERENCE_KEY"}}

    # PermissionSet components become records --------------------------------------------
    def _grant(self, meta: dict[str, Any]) -> None:
        refresh(self.state, self.defs)
        name = str(meta.get("fullName"))
        pset = self._find("PermissionSet", "name", name)
        pset = self._write("PermissionSet", pset, {"Name": name, "Label": meta.get("label") or name})
        for fp in as_list(meta.get("fieldPermissions")):
            object_name = str(fp.get("field", "")).partition(".")[0]
            self._write("FieldPermissions", None, {
                "ParentId": self._id("PermissionSet", pset), "SobjectType": object_name, "Field": fp.get("field"),
                "PermissionsRead": truthy(fp.get("readable")) or truthy(fp.get("editable")),
                "PermissionsEdit": truthy(fp.get("editable"))})
        for op in as_list(meta.get("objectPermissions")):
            self._write("ObjectPermissions", None, {
                "ParentId": self._id("PermissionSet", pset), "SobjectType": op.get("object"),
                **{f"Permissions{p}": truthy(op.get(f"allow{p}") or op.get(_lower(p))) for p in _PERMISSIONS}})

    def _find(self, object_name: str, attr: str, value: str) -> Any:
        table = self.state.table(self.defs[object_name.lower()].kind)
        return next((r for r in table.values() if r.values.get(attr.title()) == value or r.values.get(attr) == value), None)

    def _write(self, object_name: str, rec: Any, body: dict[str, Any]) -> Any:
        sobject = self.defs[object_name.lower()]
        changes = apply_writes(sobject, body, creating=rec is None)
        return save(self.state, self.defs, sobject, rec, changes, default_actor(self.state))

    def _id(self, object_name: str, rec: Any) -> str:
        return str(self.defs[object_name.lower()].getters["Id"](rec))

    # Tooling -------------------------------------------------------------------------------
    def tooling_custom_field(self, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict) or not body.get("FullName"):
            return Response(400, [{"message": "FullName is required", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["FullName"]}])
        meta = {**(body.get("Metadata") or {}), "fullName": body["FullName"]}
        with self.state.lock:
            try:
                f = metadata.custom_field(self.state, meta, replace=False)
            except SchemaError as exc:
                return Response(400, [{"message": str(exc), "errorCode": exc.code, "fields": []}])
            refresh(self.state, self.defs)
        field_id = tooling_id("00N", body["FullName"])
        f.extra["tooling_id"] = field_id
        return Response(201, {"id": field_id, "success": True, "errors": [], "warnings": [], "infos": []})


def _lower(permission: str) -> str:
    return {"Read": "allowRead", "Edit": "allowEdit", "Create": "allowCreate", "Delete": "allowDelete",
            "ViewAllRecords": "viewAllRecords", "ModifyAllRecords": "modifyAllRecords"}[permission]
