"""Proposals on Salesforce: publish (Collections upsert by key), read decisions from field
history, write statuses back, and re-own an account's children.

Decisions come from ``Territory_Reassignment__History`` rows of the status field: who
(``CreatedById``) set which value (``NewValue``) when (``CreatedDate``). The query reads
``CreatedDate >= cursor`` so rows sharing the cursor's millisecond are never lost; the store
records each decision once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from simple_salesforce import Salesforce, format_soql

from territory.connector.proposals import (
    ChildMove,
    ChildMoveResult,
    DecisionEvent,
    DecisionPage,
    ProposalRecord,
    ProposalRef,
    ProposalUpdate,
)
from territory.connector.records import WriteResult
from territory.connector.salesforce.approval_schema import HISTORY, KEY_FIELD, OBJECT, STATUS_FIELD
from territory.connector.salesforce.mapping import parse_stamp
from territory.connector.salesforce.writer import CHUNK, _collection, _result, chunks

Call = Callable[[Callable[[Salesforce], Any], str], Any]
NAME_LIMIT = 80  # the proposal record's Name is a Text(80)


def _stamp(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000") if value else None


def _query_all(call: Call, soql: str, what: str) -> list[dict[str, Any]]:
    return list(call(lambda sf: sf.query_all(soql), what).get("records", []))


def publish(call: Call, proposals: Sequence[ProposalRecord]) -> list[WriteResult]:
    """Upsert proposal records by key, 200 per call; ``created_id`` is the record id."""
    results: list[WriteResult] = []
    path = f"composite/sobjects/{OBJECT}/{KEY_FIELD}"
    for chunk in chunks(list(proposals), CHUNK):
        records = [_proposal_body(p) for p in chunk]
        body = {"allOrNone": False, "records": records}
        answer = call(lambda sf: sf.restful(path, method="PATCH", json=body), "publish proposals") or []
        for proposal, item in zip(chunk, answer):
            results.append(_result(proposal.key, item, created=True))
    return results


def _proposal_body(p: ProposalRecord) -> dict[str, Any]:
    return {
        "attributes": {"type": OBJECT},
        KEY_FIELD: p.key,
        "Name": (p.title or p.key)[:NAME_LIMIT],
        "Account__c": p.account_id,
        "From_Owner__c": p.from_owner_id,
        "To_Owner__c": p.to_owner_id,
        "Reason__c": p.reason,
        "Scenario__c": p.scenario,
        STATUS_FIELD: p.status,
    }


def fetch_decisions(call: Call, refs: Sequence[ProposalRef], cursor: datetime | None) -> DecisionPage:
    """Status history rows at or after ``cursor`` on the given proposals, oldest first."""
    key_of = {r.crm_record_id: r.key for r in refs if r.crm_record_id}
    soql = format_soql(
        "SELECT ParentId, OldValue, NewValue, CreatedById, CreatedDate FROM {:literal} WHERE Field = {}",
        HISTORY, STATUS_FIELD,
    )
    if cursor is not None:
        soql += format_soql(" AND CreatedDate >= {}", cursor)
    soql += " ORDER BY CreatedDate"
    events: list[DecisionEvent] = []
    newest = cursor
    for row in _query_all(call, soql, "read proposal status history"):
        at = parse_stamp(row["CreatedDate"])
        newest = at if newest is None or at > newest else newest
        key = key_of.get(row.get("ParentId"))
        if key is not None and row.get("NewValue"):
            events.append(DecisionEvent(key, str(row["NewValue"]), row.get("CreatedById"), at))
    return DecisionPage(events, newest)


def agent_user_ids(call: Call) -> set[str]:
    """Who created the proposal records: the integration user the agent runs as."""
    soql = format_soql("SELECT CreatedById FROM {:literal} ORDER BY CreatedDate LIMIT 1", OBJECT)
    return {r["CreatedById"] for r in _query_all(call, soql, "read the integration user") if r.get("CreatedById")}


def update(call: Call, updates: Sequence[ProposalUpdate]) -> list[WriteResult]:
    """Write statuses and the fields that go with them, 200 per call."""
    results: list[WriteResult] = []
    for chunk in chunks(list(updates), CHUNK):
        records = [_update_body(u) for u in chunk]
        for u, item in zip(chunk, _collection(call, "PATCH", records, "update proposals")):
            results.append(_result(u.key, item))
    return results


def _update_body(u: ProposalUpdate) -> dict[str, Any]:
    body: dict[str, Any] = {"attributes": {"type": OBJECT}, "id": u.crm_record_id, STATUS_FIELD: u.status}
    optional = {"Agent_Note__c": u.note, "Decided_By__c": u.decided_by, "Decided_At__c": _stamp(u.decided_at),
                "Applied_At__c": _stamp(u.applied_at), "Error__c": u.error}
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def count_open(call: Call) -> int:
    """Proposal records still Proposed or Approved."""
    soql = format_soql("SELECT COUNT() FROM {:literal} WHERE {:literal} IN {}", OBJECT, STATUS_FIELD,
                       ["Proposed", "Approved"])
    return int(call(lambda sf: sf.query(soql), "count open proposals").get("totalSize", 0))


def move_children(call: Call, moves: Sequence[ChildMove]) -> list[ChildMoveResult]:
    """Re-own contacts (and open opportunities where asked) still owned by the old owner."""
    by_account = {m.account_id: m for m in moves}
    counts: dict[str, dict[str, int]] = {m.account_id: {"Contact": 0, "Opportunity": 0} for m in moves}
    errors: dict[str, str] = {}
    for sobject in ("Contact", "Opportunity"):
        wanted = [m.account_id for m in moves if sobject == "Contact" or m.include_opportunities]
        records: list[tuple[str, dict[str, Any]]] = []
        for chunk in chunks(wanted, CHUNK):
            soql = format_soql("SELECT Id, AccountId, OwnerId FROM {:literal} WHERE AccountId IN {}", sobject, list(chunk))
            if sobject == "Opportunity":
                soql += format_soql(" AND IsClosed = {}", False)
            for row in _query_all(call, soql, f"read {sobject}s to move"):
                move = by_account.get(row.get("AccountId"))
                if move is not None and row.get("OwnerId") == move.from_owner_id:
                    records.append((move.account_id, {"attributes": {"type": sobject}, "id": row["Id"],
                                                      "OwnerId": move.to_owner_id}))
        for chunk in chunks(records, CHUNK):
            answer = _collection(call, "PATCH", [r for _, r in chunk], f"move {sobject}s")
            for (account_id, _), item in zip(chunk, answer):
                if item.get("success"):
                    counts[account_id][sobject] += 1
                else:
                    errors[account_id] = str((item.get("errors") or [{}])[0].get("message"))
    return [ChildMoveResult(m.account_id, m.account_id not in errors, counts[m.account_id]["Contact"],
                            counts[m.account_id]["Opportunity"], errors.get(m.account_id)) for m in moves]


def user_names(call: Call) -> dict[str, str]:
    """Every user's display name by id."""
    return {r["Id"]: r.get("Name") or r["Id"] for r in _query_all(call, "SELECT Id, Name FROM User", "read users")}
