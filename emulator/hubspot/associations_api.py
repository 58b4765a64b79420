"""The v4 association routes of the HubSpot emulator (a mixin of ``HubSpotApi``) over the links
of :mod:`emulator.hubspot.associations`, plus the v3 ``associations=`` expansion of reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from territory.emulator._hubspot_batch import error
from territory.emulator._hubspot_objects import HsType, resolve_type
from territory.emulator.hubspot import associations as links
from territory.emulator.server import Request, Response
from territory.emulator.state import CrmState

_V4 = r"/crm/v4/objects/(?P<type>[^/]+)/(?P<id>[^/]+)/associations"
_V4_BATCH = r"/crm/v4/associations/(?P<type>[^/]+)/(?P<to>[^/]+)"
PAGE_LIMIT = 500


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _problem(status: int, category: str, message: str) -> Response:
    return error(status, category, message)


def _pair(t: HsType, target: HsType, record: Any, other: Any, type_ids: set[int]) -> dict[str, Any]:
    """A ``LabelsBetweenObjectPair``."""
    primary = links.PRIMARY_IDS.get((t.name, target.name))
    return {"fromObjectTypeId": t.object_type_id, "fromObjectId": record.n, "toObjectTypeId": target.object_type_id,
            "toObjectId": other.n, "labels": ["Primary"] if primary in type_ids else []}


def _batch(results: list[Any], errors: list[dict[str, Any]], ok_status: int) -> Response:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": _now(), "completedAt": _now()}
    if errors:
        body.update(numErrors=len(errors), errors=errors)
        return Response(207, body)
    return Response(ok_status, body)


def _not_found(kind: str, raw: str) -> dict[str, Any]:
    return {"status": "error", "category": "OBJECT_NOT_FOUND", "message": f"No {kind} with id {raw} exists.",
            "context": {"ids": [raw]}, "links": {}, "errors": []}


class AssociationRoutes:
    """Association handlers; the host class supplies record lookup and batch input parsing."""

    def _require_state(self) -> CrmState:  # pragma: no cover - supplied by HubSpotApi
        raise NotImplementedError

    def _find(self, t: HsType, raw: str, archived: bool = False) -> Any | None:  # pragma: no cover
        raise NotImplementedError

    def _inputs(self, req: Request) -> tuple[dict[str, Any], list[dict[str, Any]]] | Response:  # pragma: no cover
        raise NotImplementedError

    def association_routes(self) -> list[tuple[str, str, Any, str]]:
        one = _V4 + r"/(?P<to>[^/]+)/(?P<toId>[^/]+)"
        return [
            ("GET", _V4 + r"/(?P<to>[^/]+)/?", self._assoc_get, "read"),
            ("PUT", _V4 + r"/default/(?P<to>[^/]+)/(?P<toId>[^/]+)", self._assoc_put_default, "write"),
            ("PUT", one, self._assoc_put, "write"),
            ("DELETE", one, self._assoc_delete, "write"),
            ("POST", _V4_BATCH + r"/batch/read", self._assoc_batch_read, "read"),
            ("POST", _V4_BATCH + r"/batch/create", self._assoc_batch_create, "write"),
            ("POST", _V4_BATCH + r"/batch/associate/default", self._assoc_batch_default, "write"),
            ("POST", _V4_BATCH + r"/batch/archive", self._assoc_batch_archive, "write"),
            ("GET", _V4_BATCH + r"/labels/?", self._assoc_labels, "read"),
        ]

    # reads ------------------------------------------------------------------------------------
    def _associated(self, t: HsType, record: Any, target: HsType) -> dict[int, set[int]]:
        return links.linked(self._require_state(), t.name, record, target.name,
                            {n: r for n, r in target.rows(self._require_state()).items() if target.belongs(r)})

    def _with_assoc(self, t: HsType, record: Any, body: dict[str, Any], to: list[HsType]) -> dict[str, Any]:
        """The v3 ``associations=`` expansion of a read."""
        groups = {}
        for target in to:
            found = self._associated(t, record, target)
            if found:
                label = f"{t.singular}_to_{target.singular}"
                groups[target.name] = {"results": [{"id": str(n), "type": label} for n in found]}
        if groups:
            body["associations"] = groups
        return body

    def _entries(self, t: HsType, record: Any, target: HsType) -> list[dict[str, Any]]:
        return [{"toObjectId": n, "associationTypes": links.association_types(t.name, target.name, ids)}
                for n, ids in self._associated(t, record, target).items()]

    def _assoc_get(self, req: Request, t: HsType) -> Response:
        assert req.match is not None
        target, record = resolve_type(req.match["to"]), self._find(t, req.match["id"])
        if target is None or record is None:
            return _problem(404, "OBJECT_NOT_FOUND", "Object not found")
        limit, after = int(req.arg("limit", str(PAGE_LIMIT)) or PAGE_LIMIT), int(req.arg("after", "0") or 0)
        entries = self._entries(t, record, target)
        page = entries[after:after + limit]
        body: dict[str, Any] = {"results": page}
        if after + limit < len(entries):
            body["paging"] = {"next": {"after": str(after + limit), "link": None}}
        return Response(200, body)

    def _assoc_batch_read(self, req: Request, t: HsType) -> Response:
        target, parsed = self._target(req), self._inputs(req)
        if isinstance(target, Response) or isinstance(parsed, Response):
            return target if isinstance(target, Response) else parsed  # type: ignore[return-value]
        results, errors = [], []
        for item in parsed[1]:
            raw = str(item.get("id", ""))
            record = self._find(t, raw)
            entries = self._entries(t, record, target) if record is not None else []
            if entries:
                results.append({"from": {"id": raw}, "to": entries})
            else:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND",
                               "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                               "message": f"No {target.name} is associated with {t.singular} {raw}.",
                               "context": {"fromObjectId": [raw]}, "links": {}, "errors": []})
        return _batch(results, errors, 200)

    def _assoc_labels(self, req: Request, t: HsType) -> Response:
        target = self._target(req)
        if isinstance(target, Response):
            return target
        return Response(200, {"results": links.labels(t.name, target.name)})

    # writes -----------------------------------------------------------------------------------
    def _target(self, req: Request) -> HsType | Response:
        target = resolve_type(req.match["to"]) if req.match else None
        if target is None:
            return _problem(400, "VALIDATION_ERROR", f"Unknown object type {req.match['to'] if req.match else ''}")
        return target

    def _ends(self, req: Request, t: HsType) -> tuple[HsType, Any, Any] | Response:
        target = self._target(req)
        if isinstance(target, Response):
            return target
        assert req.match is not None
        record, other = self._find(t, req.match["id"]), self._find(target, req.match["toId"])
        if record is None or other is None:
            return _problem(404, "OBJECT_NOT_FOUND", "One or both objects of the association do not exist")
        return target, record, other

    def _link(self, t: HsType, target: HsType, record: Any, other: Any, type_ids: set[int] | None) -> set[int] | Response:
        try:
            return links.link(self._require_state(), t.name, record, target.name, other, type_ids)
        except links.AssociationError as exc:
            return _problem(400, "VALIDATION_ERROR", str(exc))

    def _assoc_put_default(self, req: Request, t: HsType) -> Response:
        ends = self._ends(req, t)
        if isinstance(ends, Response):
            return ends
        target, record, other = ends
        done = self._link(t, target, record, other, None)
        if isinstance(done, Response):
            return done
        return _batch([_default_result(t, target, record, other), _default_result(target, t, other, record)], [], 200)

    def _assoc_put(self, req: Request, t: HsType) -> Response:
        ends = self._ends(req, t)
        if isinstance(ends, Response):
            return ends
        target, record, other = ends
        specs = req.json()
        if not isinstance(specs, list) or not specs:
            return _problem(400, "VALIDATION_ERROR", "send a list of {associationCategory, associationTypeId}")
        done = self._link(t, target, record, other, {int(s.get("associationTypeId", 0)) for s in specs})
        return done if isinstance(done, Response) else Response(201, _pair(t, target, record, other, done))

    def _assoc_delete(self, req: Request, t: HsType) -> Response:
        ends = self._ends(req, t)
        if not isinstance(ends, Response):
            target, record, other = ends
            links.unlink(self._require_state(), t.name, record, target.name, other)
        return Response(204)

    def _batch_pairs(self, req: Request, t: HsType) -> tuple[HsType, list[tuple[Any, Any, dict[str, Any]]], list[dict[str, Any]]] | Response:
        target, parsed = self._target(req), self._inputs(req)
        if isinstance(target, Response) or isinstance(parsed, Response):
            return target if isinstance(target, Response) else parsed  # type: ignore[return-value]
        pairs, errors = [], []
        for item in parsed[1]:
            raw, to_raw = str((item.get("from") or {}).get("id", "")), str((item.get("to") or {}).get("id", ""))
            record, other = self._find(t, raw), self._find(target, to_raw)
            if record is None or other is None:
                errors.append(_not_found(t.singular if record is None else target.singular, raw if record is None else to_raw))
            else:
                pairs.append((record, other, item))
        return target, pairs, errors

    def _assoc_batch_create(self, req: Request, t: HsType) -> Response:
        return self._assoc_batch_link(req, t, default=False)

    def _assoc_batch_default(self, req: Request, t: HsType) -> Response:
        return self._assoc_batch_link(req, t, default=True)

    def _assoc_batch_link(self, req: Request, t: HsType, *, default: bool) -> Response:
        """Batch create (type ids per input, 201) or associate/default (200); all validated first."""
        found = self._batch_pairs(req, t)
        if isinstance(found, Response):
            return found
        target, pairs, errors = found
        wanted = [None if default else {int(s.get("associationTypeId", 0)) for s in item.get("types") or []}
                  for _, _, item in pairs]
        allowed = links.allowed_type_ids(t.name, target.name)
        if not allowed or any(ids is not None and (not ids or not ids <= allowed) for ids in wanted):
            return _problem(400, "VALIDATION_ERROR", f"association types must be among {sorted(allowed)} "
                            f"from {t.name} to {target.name}")
        results = []
        for (record, other, _), ids in zip(pairs, wanted):
            done = links.link(self._require_state(), t.name, record, target.name, other, ids)
            results += ([_default_result(t, target, record, other), _default_result(target, t, other, record)]
                        if default else [_pair(t, target, record, other, done)])
        return _batch(results, errors, 200 if default else 201)

    def _assoc_batch_archive(self, req: Request, t: HsType) -> Response:
        target, parsed = self._target(req), self._inputs(req)
        if isinstance(target, Response) or isinstance(parsed, Response):
            return target if isinstance(target, Response) else parsed  # type: ignore[return-value]
        for item in parsed[1]:
            record = self._find(t, str((item.get("from") or {}).get("id", "")))
            for to in item.get("to") or []:
                other = self._find(target, str(to.get("id", "")))
                if record is not None and other is not None:
                    links.unlink(self._require_state(), t.name, record, target.name, other)
        return Response(204)


def _default_result(t: HsType, target: HsType, record: Any, other: Any) -> dict[str, Any]:
    return {"from": {"id": str(record.n)}, "to": {"id": str(other.n)},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED",
                                "associationTypeId": links.TYPE_IDS[(t.name, target.name)]}}
