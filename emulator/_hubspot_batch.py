"""Batch routes of the HubSpot emulator (a mixin of ``HubSpotApi``).

Batch endpoints take at most 100 inputs (else 400 VALIDATION_ERROR). Unknown ids come back
as a 207 with ``numErrors``/``errors``; an invalid property value fails the whole batch
with 400, as HubSpot does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from territory.emulator._hubspot_objects import HsType, PropertyError, render_object
from territory.emulator.hubspot.writes import changes_for, records_by_value, unique_property
from territory.emulator.server import Request, Response
from territory.emulator.state import CrmState

BATCH_MAX = 100

def error(status: int, category: str, message: str, **extra: Any) -> Response:
    """HubSpot's error body."""
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
            "category": category, **extra}
    return Response(status, body)


def invalid(problems: list[PropertyError]) -> Response:
    """400 VALIDATION_ERROR listing every rejected property value."""
    details = ", ".join(
        f'{{"isValid":false,"message":"{p}","error":"{p.error}","name":"{p.name}"}}' for p in problems
    )
    return error(400, "VALIDATION_ERROR", f"Property values were not valid: [{details}]",
                 errors=[{"message": str(p), "code": p.error, "context": {"propertyName": [p.name]}}
                         for p in problems])


def flag(value: str | None) -> bool:
    """Query booleans arrive as True/False (the client) or true/false."""
    return str(value).lower() == "true"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BatchRoutes:
    """Batch and association handlers; the host class supplies record lookup and storage."""

    def _require_state(self) -> CrmState:  # pragma: no cover - supplied by HubSpotApi
        raise NotImplementedError

    def _find(self, t: HsType, raw: str, archived: bool = False,
              id_property: str | None = None) -> Any | None:  # pragma: no cover
        raise NotImplementedError

    def _build(self, t: HsType, item: dict[str, Any]) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _store(self, t: HsType, record: Any) -> None:  # pragma: no cover
        raise NotImplementedError

    # batch --------------------------------------------------------------------------------
    def _inputs(self, req: Request) -> tuple[dict[str, Any], list[dict[str, Any]]] | Response:
        body = req.json() or {}
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            return error(400, "VALIDATION_ERROR", "inputs is required")
        if len(inputs) > BATCH_MAX:
            return error(400, "VALIDATION_ERROR",
                         f"Batch input size {len(inputs)} exceeds the limit of {BATCH_MAX}")
        return body, inputs

    def _batch_result(self, ok_status: int, results: list[dict[str, Any]], missing: list[str],
                      singular: str) -> Response:
        body: dict[str, Any] = {"status": "COMPLETE", "results": results,
                                "startedAt": _now(), "completedAt": _now()}
        if not missing:
            return Response(ok_status, body)
        body["numErrors"] = 1
        body["errors"] = [{
            "status": "error", "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {singular.upper()} objects, they may be deleted or not exist. "
                       "Check that ids are valid.",
            "context": {"ids": missing}, "links": {}, "errors": [],
        }]
        return Response(207, body)

    def _batch_read(self, req: Request, t: HsType) -> Response:
        parsed = self._inputs(req)
        if isinstance(parsed, Response):
            return parsed
        body, inputs = parsed
        archived = flag(req.arg("archived"))
        results, missing = [], []
        for item in inputs:
            raw = str(item.get("id", ""))
            record = self._find(t, raw, archived, body.get("idProperty"))
            if record is None:
                missing.append(raw)
            else:
                results.append(render_object(t, record, body.get("properties") or [], self._require_state(),
                                             body.get("propertiesWithHistory") or []))
        return self._batch_result(200, results, missing, t.singular)

    def _batch_update(self, req: Request, t: HsType) -> Response:
        parsed = self._inputs(req)
        if isinstance(parsed, Response):
            return parsed
        _, inputs = parsed
        state = self._require_state()
        planned, missing, problems = [], [], []
        for item in inputs:  # validate everything first: a bad value fails the whole batch
            raw = str(item.get("id", ""))
            record = self._find(t, raw)
            if record is None:
                missing.append(raw)
                continue
            props = item.get("properties") or {}
            try:
                planned.append((record, changes_for(state, t, record, props), list(props)))
            except PropertyError as exc:
                problems.append(exc)
        if problems:
            return invalid(problems)
        results = []
        for record, changes, names in planned:
            state.touch(record, **changes)
            results.append(render_object(t, record, names, state))
        return self._batch_result(200, results, missing, t.singular)

    def _batch_upsert(self, req: Request, t: HsType) -> Response:
        """Create or update each input by a unique property (``idProperty``); ``new`` per result."""
        parsed = self._inputs(req)
        if isinstance(parsed, Response):
            return parsed
        state, inputs = self._require_state(), parsed[1]
        keys = [(str(item.get("idProperty") or ""), str(item.get("id") or "")) for item in inputs]
        for name in {name for name, _ in keys}:
            if not unique_property(state, t, name):
                return error(400, "VALIDATION_ERROR", f"{name or 'idProperty'} is not a property with unique values "
                             f"on {t.name}: upsert needs one (hasUniqueValue)")
        if len(set(keys)) != len(keys):
            return error(400, "VALIDATION_ERROR", "Duplicate IDs found in batch input")
        existing = {name: records_by_value(state, t, name) for name in {name for name, _ in keys}}
        planned, problems = [], []
        for (name, value), item in zip(keys, inputs):
            props = dict(item.get("properties") or {})
            record = existing[name].get(value)
            try:
                if record is None:
                    planned.append((None, self._build(t, {"properties": {**props, name: value}}), [*props, name]))
                else:
                    planned.append((record, changes_for(state, t, record, props), list(props)))
            except PropertyError as exc:
                problems.append(exc)
        if problems:
            return invalid(problems)
        results = []
        for record, payload, names in planned:
            if record is None:
                self._store(t, payload)
            else:
                state.touch(record, **payload)
            body = render_object(t, payload if record is None else record, names, state)
            body["new"] = record is None
            results.append(body)
        return self._batch_result(200, results, [], t.singular)

    def _batch_create(self, req: Request, t: HsType) -> Response:
        parsed = self._inputs(req)
        if isinstance(parsed, Response):
            return parsed
        _, inputs = parsed
        built, problems = [], []
        for item in inputs:
            try:
                built.append((self._build(t, item), list((item.get("properties") or {}).keys())))
            except PropertyError as exc:
                problems.append(exc)
        if problems:
            return invalid(problems)
        results = []
        for (record, names), item in zip(built, inputs):
            self._store(t, record)
            body = render_object(t, record, names, self._require_state())
            if item.get("objectWriteTraceId") is not None:
                body["objectWriteTraceId"] = str(item["objectWriteTraceId"])
            results.append(body)
        return self._batch_result(201, results, [], t.singular)

    def _batch_archive(self, req: Request, t: HsType) -> Response:
        parsed = self._inputs(req)
        if isinstance(parsed, Response):
            return parsed
        for item in parsed[1]:
            record = self._find(t, str(item.get("id", "")))
            if record is not None:
                self._require_state().delete(record)
        return Response(204)
