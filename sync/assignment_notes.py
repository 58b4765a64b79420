"""Audit notes for inbound ``auto_assign`` moves: the same note an approved move gets.

Every auto-assignment the CRM accepted (an ``auto_assign`` outbox row marked ``sent``) gets
one note on the account, sent through the outbox under the key ``<assignment key>:note``
with the marker read-back of :func:`sync.proposal_tasks.deliver_activities`, so a lost
answer or a crash never makes two. Runs after the assignments are delivered.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from territory.connector.records import ActivityRequest
from territory.sync import proposal_tasks as outbox
from territory.sync.book import load_reps
from territory.sync.proposals import account_names
from territory.sync.store import Store

ASSIGNMENT_KIND = "auto_assign"
NOTE_KIND = "assignment_note"
APPROVER = "rules (auto_assign)"


def note_assignments(store: Store, connector: Any) -> int:
    """Write the audit note of every delivered auto-assignment that has none yet; notes written."""
    crm = connector.crm
    with store.engine.connect() as conn:
        sent = conn.execute(sa.select(outbox.OUTBOX.c.external_key, outbox.OUTBOX.c.payload, outbox.OUTBOX.c.sent_at)
                            .where(outbox.OUTBOX.c.kind == ASSIGNMENT_KIND, outbox.OUTBOX.c.status == "sent")).all()
    outbox.enqueue(store, NOTE_KIND, [(f"{key}:note", {**payload, "assigned_at": str(at)}) for key, payload, at in sent])
    rows = outbox.pending(store, NOTE_KIND)
    if not rows:
        return 0
    reps, _ = load_reps(store, crm)
    names = {rep.id: rep.name for rep in reps}
    accounts = account_names(store, crm, [row["payload"]["account_id"] for row in rows])
    requests = [_note(row, names, accounts) for row in rows]
    results = outbox.deliver_activities(store, connector, rows, requests)
    return sum(1 for result in results.values() if result.ok)


def _note(row: dict[str, object], names: dict[str, str], accounts: dict[str, str]) -> ActivityRequest:
    payload = row["payload"]
    assert isinstance(payload, dict)
    account, owner = str(payload["account_id"]), str(payload["new_owner_id"])
    to_name = names.get(owner, owner)
    body = outbox.audit_note_body(
        account=accounts.get(account, account), from_name="nobody (unowned)", to_name=to_name,
        reason=payload.get("reason") or "", approver=APPROVER, decided=str(payload.get("assigned_at") or ""),
        origin=f"Rule: {payload.get('rule') or 'auto_assign'}", key=str(row["external_key"]),
    )
    return ActivityRequest(account_id=account, kind="note", owner_id=owner, completed=True,
                           subject=f"Territory assignment: unowned -> {to_name}", body=body,
                           external_key=str(row["external_key"]))
