"""Write-back to HubSpot: owner changes, tasks/notes, their read-back and completion.

All writes are batched (100 inputs per call) and answer one :class:`WriteResult` per input,
in input order. HubSpot rejects a whole batch with 400 when one input carries an invalid
value; such a batch is retried record by record so only the bad record fails.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from territory.connector.errors import (
    CrmError,
    FatalCrmError,
    RetriableCrmError,
    SessionExpiredError,
)
from territory.connector.hubspot.client import HubSpotClient
from territory.connector.hubspot.mapping import (
    NOTE_PROPERTIES,
    TASK_PROPERTIES,
    to_activity,
)
from territory.connector.markers import with_body_marker
from territory.connector.owner_guard import precheck_owner_change
from territory.connector.records import ActivityRecord, ActivityRequest, OwnerChange, WriteResult

BATCH = 100
ASSOCIATION_TO_COMPANY = {"task": 192, "note": 190}


def _chunks(items: Sequence[Any], size: int = BATCH) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _failed_ids(data: dict[str, Any] | None) -> dict[str, tuple[str, str]]:
    """Per-id failures of a 207 answer: id -> (category, message)."""
    out: dict[str, tuple[str, str]] = {}
    for err in (data or {}).get("errors") or []:
        context = err.get("context") or {}
        for key in ("ids", "id", "fromObjectId"):
            for raw in context.get(key) or []:
                out[str(raw)] = (str(err.get("category") or "ERROR"), str(err.get("message") or ""))
    return out


def _failure(record_id: str, exc: CrmError) -> WriteResult:
    return WriteResult(record_id, ok=False, error_code=exc.code or f"HTTP_{exc.status}",
                       message=str(exc), retriable=isinstance(exc, RetriableCrmError))


class HubSpotWriter:
    """Batched writes and the reads they need."""

    def __init__(self, client: HubSpotClient) -> None:
        self.client = client

    # owners ----------------------------------------------------------------------------------
    def apply_owner_changes(self, changes: Sequence[OwnerChange]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        owners = self._owner_states() if changes else {}
        pending: list[tuple[int, OwnerChange]] = []
        for i, change in enumerate(changes):
            state = owners.get(change.new_owner_id)
            if state is None:
                results[i] = WriteResult(change.account_id, False, error_code="UNKNOWN_OWNER",
                                         message=f"HubSpot owner {change.new_owner_id} does not exist")
            elif not state:
                results[i] = WriteResult(change.account_id, False, error_code="INACTIVE_OWNER",
                                         message=f"HubSpot owner {change.new_owner_id} is deactivated")
            else:
                pending.append((i, change))
        for chunk in _chunks(pending):
            results.update(self._owner_chunk(list(chunk)))
        return [results[i] for i in range(len(changes))]

    def _owner_states(self) -> dict[str, bool]:
        """Owner id -> active (deactivated owners come from ``archived=true``)."""
        owners_api = self.client.api("owners")
        out: dict[str, bool] = {}
        for archived in (False, True):
            after: str | None = None
            while True:
                resp = self.client.call(lambda kw: owners_api.get_page(
                    limit=500, after=after, archived=archived, **kw))
                for owner in resp.data.get("results") or []:
                    out.setdefault(str(owner["id"]), not archived)
                after = ((resp.data.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
        return out

    def _owner_chunk(self, chunk: list[tuple[int, OwnerChange]]) -> dict[int, WriteResult]:
        batch = self.client.api("companies.batch")
        body = {"properties": ["hubspot_owner_id"], "inputs": [{"id": c.account_id} for _, c in chunk]}
        data = self.client.call(lambda kw: batch.read(body, archived=False, **kw)).data or {}
        current = {str(o["id"]): (o.get("properties") or {}).get("hubspot_owner_id") or None
                   for o in data.get("results") or []}
        out: dict[int, WriteResult] = {}
        to_write: list[tuple[int, OwnerChange]] = []
        for i, change in chunk:
            decided = precheck_owner_change(
                change, current, crm_label="HubSpot", missing_code="NOT_FOUND",
                missing_message=f"company {change.account_id} does not exist or is archived",
            )
            if decided is not None:
                out[i] = decided
            else:
                to_write.append((i, change))
        if to_write:
            inputs = [{"id": c.account_id, "properties": {"hubspot_owner_id": c.new_owner_id}}
                      for _, c in to_write]
            out.update(self._batch_write(
                "companies", "update", inputs, [(i, c.account_id) for i, c in to_write],
                lambda item, kw: self.client.api("companies.basic").update(
                    item["id"], {"properties": item["properties"]}, **kw),
            ))
        return out

    # generic batch with isolation --------------------------------------------------------------
    def _batch_write(
        self,
        object_name: str,
        op: str,
        inputs: list[dict[str, Any]],
        keys: list[tuple[int, str]],
        single: Callable[[dict[str, Any], dict[str, Any]], Any],
        attempts: int | None = None,
    ) -> dict[int, WriteResult]:
        """One batch call; per-record results; a 400 batch is retried one record at a time.
        ``attempts=1`` (creates) sends each call once; the caller reconciles and resends."""
        batch = self.client.api(f"{object_name}.batch")
        method = getattr(batch, op)
        try:
            data = self.client.call(lambda kw: method({"inputs": inputs}, **kw), attempts=attempts).data or {}
        except FatalCrmError as exc:
            if exc.status != 400 or len(inputs) == 1:
                if exc.status == 400:
                    return {keys[0][0]: _failure(keys[0][1], exc)}
                raise
            return self._one_by_one(inputs, keys, single, attempts)
        return self._match_results(op, data, inputs, keys)

    def _one_by_one(self, inputs: list[dict[str, Any]], keys: list[tuple[int, str]],
                    single: Callable[[dict[str, Any], dict[str, Any]], Any],
                    attempts: int | None = None) -> dict[int, WriteResult]:
        out: dict[int, WriteResult] = {}
        for item, (i, record_id) in zip(inputs, keys):
            try:
                data = self.client.call(lambda kw: single(item, kw), attempts=attempts).data
            except FatalCrmError as exc:
                out[i] = _failure(record_id, exc)
                continue
            created = str(data["id"]) if isinstance(data, dict) and "id" in data else None
            out[i] = WriteResult(record_id, True, created_id=created if created != record_id else None)
        return out

    def _match_results(self, op: str, data: dict[str, Any], inputs: list[dict[str, Any]],
                       keys: list[tuple[int, str]]) -> dict[int, WriteResult]:
        failed = _failed_ids(data)
        out: dict[int, WriteResult] = {}
        if op == "update":
            for i, record_id in keys:
                if record_id in failed:
                    code, message = failed[record_id]
                    out[i] = WriteResult(record_id, False, error_code=code, message=message)
                else:
                    out[i] = WriteResult(record_id, True)
            return out
        # create: correlate by objectWriteTraceId, else by position
        results = data.get("results") or []
        by_trace = {str(r.get("objectWriteTraceId")): r for r in results if r.get("objectWriteTraceId")}
        for pos, (i, record_id) in enumerate(keys):
            trace = str(inputs[pos].get("objectWriteTraceId"))
            row = by_trace.get(trace) or (results[pos] if pos < len(results) and not by_trace else None)
            if row is None:
                out[i] = WriteResult(record_id, False, error_code="NOT_CREATED",
                                     message="HubSpot did not return this record", retriable=True)
            else:
                out[i] = WriteResult(record_id, True, created_id=str(row["id"]))
        return out

    # activities ------------------------------------------------------------------------------
    def apply_activities(self, requests: Sequence[ActivityRequest]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        for kind in ("task", "note"):
            indexed = [(i, r) for i, r in enumerate(requests) if r.kind == kind]
            for chunk in _chunks(indexed):
                results.update(self._create_reconciled(kind, list(chunk), stamp))
        for i, r in enumerate(requests):
            if i not in results:
                results[i] = WriteResult(r.account_id, False, error_code="UNKNOWN_KIND",
                                         message=f"activity kind {r.kind!r} is neither task nor note")
        return [results[i] for i in range(len(requests))]

    def _create_reconciled(self, kind: str, chunk: list[tuple[int, ActivityRequest]], stamp: str) -> dict[int, WriteResult]:
        def find(todo: list[ActivityRequest]) -> dict[str, str]:
            keys = {r.external_key for r in todo if r.external_key}
            return {a.external_key: a.id for a in self.fetch_activities([r.account_id for r in todo])
                    if a.external_key in keys}

        return self.create_reconciled(f"{kind}s", chunk, lambda r, pos: _activity_input(r, stamp, pos),
                                      lambda r: (r.account_id, r.external_key), find)

    def create_reconciled(self, object_name: str, chunk: Sequence[tuple[int, Any]],
                          make_input: Callable[[Any, int], dict[str, Any]],
                          ids: Callable[[Any], tuple[str, str | None]],
                          find: Callable[[list[Any]], dict[str, str]]) -> dict[int, WriteResult]:
        """Create one batch, each call sent once: after a failure that may have been applied
        (a dropped connection, a lost answer, a 5xx), the markers are read back first
        (``find``: key -> id) and only what is still missing is sent again, so a retry never
        makes a second copy. ``ids(item)`` is (record id for the result, idempotency key)."""
        basic = self.client.api(f"{object_name}.basic")
        out: dict[int, WriteResult] = {}
        todo = list(chunk)
        for attempt in range(1, self.client.policy.max_attempts + 1):
            if attempt > 1:
                found = find([r for _, r in todo])
                out.update({i: WriteResult(ids(r)[0], True, created_id=found[str(ids(r)[1])])
                            for i, r in todo if ids(r)[1] in found})
                todo = [(i, r) for i, r in todo if ids(r)[1] not in found]
                if not todo:
                    return out
            inputs = [make_input(r, pos) for pos, (_, r) in enumerate(todo)]
            try:
                out.update(self._batch_write(object_name, "create", inputs, [(i, ids(r)[0]) for i, r in todo],
                                             lambda item, kw: basic.create(_without_trace(item), **kw), attempts=1))
                return out
            except RetriableCrmError as exc:
                if attempt == self.client.policy.max_attempts:
                    raise
                if isinstance(exc, SessionExpiredError):
                    self.client.rebuild()
                self.client.sleep(self.client.policy.wait_for(attempt, exc))
        return out

    def fetch_activities(self, account_ids: Sequence[str]) -> list[ActivityRecord]:
        out: list[ActivityRecord] = []
        for kind, props in (("task", TASK_PROPERTIES), ("note", NOTE_PROPERTIES)):
            owner_of = self._associated(account_ids, f"{kind}s")
            batch = self.client.api(f"{kind}s.batch")
            ids = list(owner_of)
            for chunk in _chunks(ids):
                body = {"properties": props, "inputs": [{"id": x} for x in chunk]}
                data = self.client.call(lambda kw: batch.read(body, archived=False, **kw)).data or {}
                for obj in data.get("results") or []:
                    out.append(to_activity(obj, kind, owner_of.get(str(obj["id"]))))
        return out

    def _associated(self, account_ids: Sequence[str], to: str) -> dict[str, str]:
        """Activity id -> company id, via v4 batch association reads (100 per call)."""
        batch = self.client.api("associations.batch")
        out: dict[str, str] = {}
        for chunk in _chunks(list(dict.fromkeys(account_ids))):
            body = {"inputs": [{"id": x} for x in chunk]}
            data = self.client.call(lambda kw: batch.get_page("companies", to, body, **kw)).data or {}
            for row in data.get("results") or []:
                for target in row.get("to") or []:
                    out[str(target["toObjectId"])] = str(row["from"]["id"])
        return out

    def complete_activities(self, activity_ids: Sequence[str]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        indexed = list(enumerate(activity_ids))
        basic = self.client.api("tasks.basic")
        for chunk in _chunks(indexed):
            inputs = [{"id": a, "properties": {"hs_task_status": "COMPLETED"}} for _, a in chunk]
            results.update(self._batch_write(
                "tasks", "update", inputs, [(i, a) for i, a in chunk],
                lambda item, kw: basic.update(item["id"], {"properties": item["properties"]}, **kw),
            ))
        return [results[i] for i in range(len(activity_ids))]


def _without_trace(item: dict[str, Any]) -> dict[str, Any]:
    """Single creates take no objectWriteTraceId."""
    return {k: v for k, v in item.items() if k != "objectWriteTraceId"}


def _activity_input(req: ActivityRequest, stamp: str, pos: int) -> dict[str, Any]:
    owner = {"hubspot_owner_id": req.owner_id} if req.owner_id else {}
    if req.kind == "task":
        props = {
            "hs_timestamp": stamp,
            "hs_task_subject": req.subject,
            "hs_task_body": with_body_marker(req.body, req.external_key),
            "hs_task_status": "COMPLETED" if req.completed else "NOT_STARTED",
            "hs_task_priority": "MEDIUM",
            **owner,
        }
    else:
        props = {"hs_timestamp": stamp,
                 "hs_note_body": f"{req.subject}\n{with_body_marker(req.body, req.external_key)}", **owner}
    return {
        "properties": props,
        "objectWriteTraceId": str(pos),
        "associations": [{
            "to": {"id": req.account_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED",
                       "associationTypeId": ASSOCIATION_TO_COMPANY[req.kind]}],
        }],
    }
