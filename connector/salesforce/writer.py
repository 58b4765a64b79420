"""Write-back through sObject Collections: owner changes, audit/flag Tasks, completion.

Collections take at most 200 records per call and answer 200 with one result per record in
request order; every write here uses ``allOrNone=false`` so one bad record never fails the
batch. Owner changes are guarded: the current owner is read first and a record whose owner
is no longer the expected one is reported as OWNER_CHANGED instead of being overwritten.
Task creation is not idempotent, so after an ambiguous failure (dropped connection, 5xx)
the retry first looks for tasks already carrying our ``[territory:KEY]`` marker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from simple_salesforce import Salesforce

from territory.connector.markers import split_marker, with_body_marker
from territory.connector.owner_guard import precheck_owner_change
from territory.connector.records import ActivityRecord, ActivityRequest, OwnerChange, WriteResult
from territory.connector.salesforce.errors import TRANSIENT_CODES
from territory.connector.salesforce.soql import tasks_query

CHUNK = 200
SUBJECT_LIMIT = 255  # Task.Subject length
DESCRIPTION_LIMIT = 32_000  # Task.Description (long text area)
Call = Callable[[Callable[[Salesforce], Any], str], Any]


def chunks(items: Sequence[Any], size: int = CHUNK) -> list[Sequence[Any]]:
    """``items`` in consecutive slices of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def _result(record_id: str, item: dict[str, Any], created: bool = False) -> WriteResult:
    if item.get("success"):
        return WriteResult(record_id=record_id, ok=True, created_id=item.get("id") if created else None)
    errors = item.get("errors") or [{}]
    code = errors[0].get("statusCode")
    return WriteResult(
        record_id=record_id, ok=False, error_code=code, message=errors[0].get("message"),
        retriable=code in TRANSIENT_CODES,
    )


def _collection(call: Call, method: str, records: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
    body = {"allOrNone": False, "records": records}
    return call(lambda sf: sf.restful("composite/sobjects", method=method, json=body), what) or []


def current_owners(call: Call, account_ids: Sequence[str]) -> dict[str, str | None]:
    """Account id -> current OwnerId for accounts that exist (deleted/unknown ones absent)."""
    owners: dict[str, str | None] = {}
    for chunk in chunks(list(dict.fromkeys(account_ids))):
        params = {"ids": ",".join(chunk), "fields": "Id,OwnerId"}
        rows = call(lambda sf: sf.restful("composite/sobjects/Account", params=params), "read Account owners")
        for row in rows or []:
            if row:
                owners[row["Id"]] = row.get("OwnerId")
    return owners


def apply_owner_changes(call: Call, changes: Sequence[OwnerChange]) -> list[WriteResult]:
    """Set Account.OwnerId, guarded by ``expected_owner_id``; results in input order."""
    results: list[WriteResult | None] = [None] * len(changes)
    owners = current_owners(call, [c.account_id for c in changes])
    pending: list[int] = []
    queued: set[str] = set()
    for i, change in enumerate(changes):
        if change.account_id in queued:  # Salesforce rejects a collection naming one id twice
            results[i] = WriteResult(change.account_id, False, error_code="DUPLICATE_VALUE",
                                     message="this account appears more than once in the batch")
        elif (decided := precheck_owner_change(
            change, owners, crm_label="Salesforce", missing_code="ENTITY_IS_DELETED",
            missing_message="account does not exist or is deleted",
        )) is not None:
            results[i] = decided
        else:
            pending.append(i)
            queued.add(change.account_id)
    for chunk in chunks(pending):
        records = [
            {"attributes": {"type": "Account"}, "id": changes[i].account_id, "OwnerId": changes[i].new_owner_id}
            for i in chunk
        ]
        for i, item in zip(chunk, _collection(call, "PATCH", records, "update Account.OwnerId")):
            results[i] = _result(changes[i].account_id, item)
    return [r if r is not None else WriteResult(changes[i].account_id, False, error_code="NO_RESULT") for i, r in enumerate(results)]


def fetch_activities(call: Call, account_ids: Sequence[str]) -> list[ActivityRecord]:
    """Tasks on these accounts, with the ``[territory:KEY]`` marker parsed back."""
    found: list[ActivityRecord] = []
    for chunk in chunks(list(dict.fromkeys(account_ids))):
        soql = tasks_query(chunk)
        page = call(lambda sf: sf.query(soql), "read Tasks")
        while True:
            for row in page.get("records", []):
                subject, body, key = split_marker(row.get("Subject") or "", row.get("Description") or "")
                found.append(ActivityRecord(
                    id=row["Id"], account_id=row.get("WhatId"), kind="task", subject=subject,
                    body=body, completed=bool(row.get("IsClosed")), external_key=key,
                ))
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                break
            url = page["nextRecordsUrl"]
            page = call(lambda sf: sf.query_more(url, identifier_is_url=True), "read Tasks")
    return found


def _task_body(request: ActivityRequest, today: str) -> dict[str, Any]:
    # Notes are written as completed Tasks: one call instead of ContentNote + link (two).
    completed = request.completed or request.kind == "note"
    body: dict[str, Any] = {
        "attributes": {"type": "Task"},
        "Subject": request.subject[:SUBJECT_LIMIT],
        "Description": with_body_marker(request.body, request.external_key, DESCRIPTION_LIMIT),
        "WhatId": request.account_id,
        "Status": "Completed" if completed else "Not Started",
        "ActivityDate": today,
        "Priority": "Normal",
    }
    if request.owner_id:
        body["OwnerId"] = request.owner_id
    return body


def apply_activities(
    call: Call, call_once: Call, retry: Callable[[Callable[[], Any]], Any], requests_: Sequence[ActivityRequest]
) -> list[WriteResult]:
    """Create Tasks; after an ambiguous failure, tasks already carrying the key are reused.

    ``call_once`` translates errors without retrying (a blind retry of a POST could create
    duplicates); ``retry`` re-runs the whole reconcile-then-create unit.
    """
    results: list[WriteResult] = []
    today = datetime.now(UTC).date().isoformat()
    for chunk in chunks(list(requests_)):
        attempts = 0

        def create_chunk(chunk: Sequence[ActivityRequest] = chunk) -> list[WriteResult]:
            nonlocal attempts
            attempts += 1
            existing: dict[str, str] = {}
            if attempts > 1:  # the last try may have been applied before the connection dropped
                keys = {r.external_key for r in chunk if r.external_key}
                existing = {a.external_key: a.id for a in fetch_activities(call, [r.account_id for r in chunk])
                            if a.external_key in keys}  # type: ignore[misc]
            todo = [r for r in chunk if not (r.external_key and r.external_key in existing)]
            created = iter(_collection(call_once, "POST", [_task_body(r, today) for r in todo], "create Tasks") if todo else [])
            out: list[WriteResult] = []
            for r in chunk:
                if r.external_key and r.external_key in existing:
                    out.append(WriteResult(r.account_id, True, created_id=existing[r.external_key]))
                else:
                    out.append(_result(r.account_id, next(created, {}), created=True))
            return out

        results.extend(retry(create_chunk))
    return results


def complete_activities(call: Call, activity_ids: Sequence[str]) -> list[WriteResult]:
    """Set Status=Completed on Tasks; results in input order."""
    results: list[WriteResult] = []
    for chunk in chunks(list(activity_ids)):
        records = [{"attributes": {"type": "Task"}, "id": task_id, "Status": "Completed"} for task_id in chunk]
        for task_id, item in zip(chunk, _collection(call, "PATCH", records, "complete Tasks")):
            results.append(_result(task_id, item))
    return results
