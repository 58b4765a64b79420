"""Exactly-once activity creation through the outbox: proposal tasks and audit notes.

A create that might have reached the CRM without us hearing back (crash, lost answer) must
not be sent blind again. So each activity is an outbox row whose key the connector embeds as
the marker ``[territory:KEY]``; the attempt is counted *before* sending; and rows that were
attempted before are first looked up in the CRM by marker, only the missing ones are sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from territory.connector.proposals import ProposalRecord
from territory.connector.records import ActivityRequest, WriteResult
from territory.sync.store import Store
from territory.sync.tables import OutboxRow, utc_now

OUTBOX: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
PROPOSAL_TASK = "proposal_task"
MAX_ATTEMPTS = 5


def audit_note_body(*, account: str, from_name: str, to_name: str, reason: str, approver: str, decided: str,
                    origin: str, key: str) -> str:
    """The audit note every owner change the agent makes leaves on the account."""
    return "\n".join([
        f"Account: {account}",
        f"From: {from_name}",
        f"To: {to_name}",
        f"Reason: {reason or 'none given'}",
        f"Approved by: {approver} on {decided or 'unknown'}",
        f"Applied: {utc_now():%Y-%m-%d %H:%M} UTC by territory-agent",
        origin,
        f"Change: {key}",
    ])


def enqueue(store: Store, kind: str, items: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Add outbox rows for keys not enqueued yet (one transaction)."""
    if not items:
        return
    keys = [key for key, _ in items]
    now = utc_now()
    with store.transaction() as conn:
        known = set()
        for start in range(0, len(keys), 500):
            known |= set(conn.execute(sa.select(OUTBOX.c.external_key).where(
                OUTBOX.c.external_key.in_(keys[start:start + 500]))).scalars())
        rows = [{"kind": kind, "payload": payload, "external_key": key, "status": "pending", "attempts": 0,
                 "created_at": now} for key, payload in items if key not in known]
        if rows:
            conn.execute(sa.insert(OUTBOX), rows)


def pending(store: Store, kind: str, keys: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Pending rows of ``kind`` (optionally only these keys), oldest first."""
    query = sa.select(OUTBOX).where(OUTBOX.c.kind == kind, OUTBOX.c.status == "pending").order_by(OUTBOX.c.id)
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    if keys is not None:
        wanted = set(keys)
        rows = [r for r in rows if r["external_key"] in wanted]
    return rows


def count_attempt(store: Store, row_ids: Sequence[int]) -> None:
    """Record that these rows are about to be sent (before the CRM call)."""
    with store.transaction() as conn:
        for start in range(0, len(row_ids), 500):
            conn.execute(sa.update(OUTBOX).where(OUTBOX.c.id.in_(row_ids[start:start + 500]))
                         .values(attempts=OUTBOX.c.attempts + 1))


def mark(store: Store, done: Sequence[tuple[int, str | None]], failed: Sequence[tuple[int, str, bool]] = ()) -> None:
    """Sent rows (with the CRM id) and failed ones (error, final) in one transaction."""
    now = utc_now()
    with store.transaction() as conn:
        for row_id, crm_id in done:
            conn.execute(sa.update(OUTBOX).where(OUTBOX.c.id == row_id)
                         .values(status="sent", crm_id=crm_id, sent_at=now))
        for row_id, error, final in failed:
            conn.execute(sa.update(OUTBOX).where(OUTBOX.c.id == row_id)
                         .values(status="failed" if final else "pending", last_error=error))


def deliver_activities(store: Store, connector: Any, rows: Sequence[dict[str, Any]],
                       requests: Sequence[ActivityRequest]) -> dict[str, WriteResult]:
    """Create the activities of ``rows`` exactly once; results by outbox key."""
    def find(tried: list[ActivityRequest]) -> dict[str, str]:
        keys = {r.external_key for r in tried}
        return {str(a.external_key): a.id for a in connector.fetch_activities(sorted({r.account_id for r in tried}))
                if a.external_key in keys}

    return deliver_once(store, rows, requests, find, connector.apply_activities)


def deliver_once(store: Store, rows: Sequence[dict[str, Any]], requests: Sequence[Any],
                 find: Callable[[list[Any]], dict[str, str]],
                 create: Callable[[list[Any]], list[WriteResult]]) -> dict[str, WriteResult]:
    """Send the creates of outbox ``rows`` (``requests`` in the same order) exactly once.

    Rows attempted before are looked up first (``find``: outbox key -> CRM id, for the
    requests given); only the ones not found are created, their attempt counted before the
    call. Rows are marked sent (with the CRM id) or failed; results by outbox key.
    """
    out: dict[str, WriteResult] = {}
    tried = [(row, req) for row, req in zip(rows, requests) if row["attempts"] > 0]
    if tried:
        found = find([req for _, req in tried])
        for row, _ in tried:
            if row["external_key"] in found:
                out[row["external_key"]] = WriteResult(row["external_key"], True, created_id=found[row["external_key"]])
    todo = [(row, req) for row, req in zip(rows, requests) if row["external_key"] not in out]
    if todo:
        count_attempt(store, [row["id"] for row, _ in todo])
        for (row, _), result in zip(todo, create([req for _, req in todo])):
            out[row["external_key"]] = result
    done = [(row["id"], out[row["external_key"]].created_id) for row in rows if out[row["external_key"]].ok]
    failed = [(row["id"], f"{out[row['external_key']].error_code}: {out[row['external_key']].message}",
               not out[row["external_key"]].retriable or row["attempts"] + 1 >= MAX_ATTEMPTS)
              for row in rows if not out[row["external_key"]].ok]
    mark(store, done, failed)
    return out


def deliver_tasks(store: Store, connector: Any, records: Sequence[ProposalRecord], people: Any) -> int:
    """One task per proposal for its approving manager (HubSpot, where there is no list view)."""
    enqueue(store, PROPOSAL_TASK, [(f"task:{r.key}", {"account_id": r.account_id, "owner_id": r.approver_id,
                                                      "subject": f"Approve or reject: {r.title}", "body": r.reason})
                                   for r in records])
    rows = pending(store, PROPOSAL_TASK)
    requests = [ActivityRequest(
        account_id=row["payload"]["account_id"], subject=row["payload"]["subject"],
        body=row["payload"]["body"] + "\n\nSet 'Territory proposal status' on this company to Approved or Rejected.",
        kind="task", owner_id=row["payload"]["owner_id"], external_key=row["external_key"],
    ) for row in rows]
    results = deliver_activities(store, connector, rows, requests)
    return sum(1 for r in results.values() if r.ok)
