"""Routes of ``/crm/v3/properties/{objectType}`` (properties and groups) for the HubSpot view."""

from __future__ import annotations

import uuid
from typing import Any

from territory.emulator.hubspot.properties import create_property, register_hubspot, render_property
from territory.emulator.server import Request, Response
from territory.emulator.state import CrmState
from territory.emulator.store import SchemaError

_TYPE_NAMES = {"company": "companies", "0-2": "companies", "contact": "contacts", "0-1": "contacts",
               "deal": "deals", "0-3": "deals", "task": "tasks", "0-27": "tasks", "note": "notes", "0-46": "notes"}
_P = r"/crm/v3/properties/(?P<otype>[^/]+)"


def _error(status: int, category: str, message: str) -> Response:
    return Response(status, {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
                             "category": category})


class PropertiesApi:
    """Properties and property groups of every object type, over the state's schema."""

    def __init__(self, state: CrmState) -> None:
        self.state = state
        register_hubspot(state)

    def routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", _P + r"/groups/?", self.groups), ("POST", _P + r"/groups/?", self.create_group),
            ("GET", _P + r"/groups/(?P<name>[^/]+)", self.group),
            ("DELETE", _P + r"/groups/(?P<name>[^/]+)", self.archive_group),
            ("GET", _P + r"/?", self.list), ("POST", _P + r"/?", self.create),
            ("GET", _P + r"/(?P<name>[^/]+)", self.get), ("PATCH", _P + r"/(?P<name>[^/]+)", self.update),
            ("DELETE", _P + r"/(?P<name>[^/]+)", self.archive),
        ]

    def _type(self, req: Request) -> str | None:
        raw = req.match["otype"].lower()  # type: ignore[index]
        name = _TYPE_NAMES.get(raw, raw)
        return name if self.state.schema.get("hubspot", name) is not None else None

    def list(self, req: Request) -> Response:
        t = self._type(req)
        if t is None:
            return _error(404, "OBJECT_NOT_FOUND", f"Unable to infer object type from: {req.match['otype']}")  # type: ignore[index]
        obj = self.state.schema.get("hubspot", t)
        return Response(200, {"results": [render_property(f, t) for f in obj.fields.values()]})  # type: ignore[union-attr]

    def get(self, req: Request) -> Response:
        t = self._type(req)
        obj = self.state.schema.get("hubspot", t) if t else None
        f = obj.field(req.match["name"]) if obj else None  # type: ignore[index]
        if f is None:
            return _error(404, "OBJECT_NOT_FOUND", f"property {req.match['name']} does not exist")  # type: ignore[index]
        return Response(200, render_property(f, t))  # type: ignore[arg-type]

    def create(self, req: Request) -> Response:
        t = self._type(req)
        if t is None:
            return _error(404, "OBJECT_NOT_FOUND", f"Unable to infer object type from: {req.match['otype']}")  # type: ignore[index]
        body = req.json() or {}
        try:
            f = create_property(self.state, t, body)
        except SchemaError as exc:
            return _error(409 if exc.code == "OBJECT_ALREADY_EXISTS" else 400, exc.code, str(exc))
        return Response(201, render_property(f, t))

    def update(self, req: Request) -> Response:
        t = self._type(req)
        obj = self.state.schema.get("hubspot", t) if t else None
        f = obj.field(req.match["name"]) if obj else None  # type: ignore[index]
        if f is None:
            return _error(404, "OBJECT_NOT_FOUND", f"property {req.match['name']} does not exist")  # type: ignore[index]
        body = req.json() or {}
        if "label" in body:
            f.label = str(body["label"])
        if "options" in body:
            f.extra["options"] = list(body["options"])
        f.extra["updated_at"] = self.state.now()
        return Response(200, render_property(f, t))  # type: ignore[arg-type]

    def archive(self, req: Request) -> Response:
        t = self._type(req)
        obj = self.state.schema.get("hubspot", t) if t else None
        f = obj.field(req.match["name"]) if obj else None  # type: ignore[index]
        if f is not None and f.custom:
            self.state.schema.drop_field("hubspot", t, f.name)  # type: ignore[arg-type]
        return Response(204)

    def groups(self, req: Request) -> Response:
        t = self._type(req)
        return Response(200, {"results": list(self.state.schema.groups.get(t or "", {}).values())})

    def group(self, req: Request) -> Response:
        found = self.state.schema.groups.get(self._type(req) or "", {}).get(req.match["name"])  # type: ignore[index]
        return Response(200, found) if found else _error(404, "OBJECT_NOT_FOUND", "group does not exist")

    def archive_group(self, req: Request) -> Response:
        """``DELETE .../groups/{name}``: 204, or 404 for a group that does not exist."""
        groups = self.state.schema.groups.get(self._type(req) or "", {})
        if groups.pop(req.match["name"], None) is None:  # type: ignore[index]
            return _error(404, "OBJECT_NOT_FOUND", "group does not exist")
        return Response(204)

    def create_group(self, req: Request) -> Response:
        t = self._type(req)
        body = req.json() or {}
        if t is None or not body.get("name") or not body.get("label"):
            return _error(400, "VALIDATION_ERROR", "a property group needs name and label")
        groups = self.state.schema.groups.setdefault(t, {})
        if body["name"] in groups:
            return _error(409, "OBJECT_ALREADY_EXISTS", f"A property group named '{body['name']}' already exists")
        groups[body["name"]] = {"name": body["name"], "label": body["label"],
                                "displayOrder": int(body.get("displayOrder", -1)), "archived": False}
        return Response(201, groups[body["name"]])
