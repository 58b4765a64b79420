"""Read managers' decisions from the CRM and accept only the authorized ones.

Each status change a person made on an open proposal is recorded once in
``proposal_decisions`` with the verdict of :func:`rules.authorize`. An accepted decision
moves the proposal to Approved/Rejected (and the CRM record gets decider and time); one that
does not count is set back in the CRM to the state the proposal is really in, with a note
saying who tried and why it did not count. The agent's own writes are never decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from territory import rules
from territory.connector.proposals import ProposalRef, ProposalUpdate
from territory.connector.records import ChangeCursor
from territory.sync.proposals import People, list_proposals, set_states
from territory.sync.store import Store
from territory.sync.tables import OPEN_PROPOSAL_STATES, ProposalDecisionRow, utc_now

DECISIONS_TABLE: sa.Table = ProposalDecisionRow.__table__  # type: ignore[attr-defined]
CURSOR_KIND = "proposal_decisions"


@dataclass
class DecisionReport:
    """What one poll saw and did (``--json``)."""

    crm: str
    seen: int = 0
    approved: int = 0
    rejected: int = 0
    unauthorized: int = 0
    reverted: int = 0
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _recorded(store: Store, proposal_ids: list[int]) -> set[tuple[int, str | None, str, datetime]]:
    seen: set[tuple[int, str | None, str, datetime]] = set()
    with store.engine.connect() as conn:
        for start in range(0, len(proposal_ids), 500):
            query = sa.select(DECISIONS_TABLE.c.proposal_id, DECISIONS_TABLE.c.actor_id, DECISIONS_TABLE.c.value,
                              DECISIONS_TABLE.c.decided_at).where(
                DECISIONS_TABLE.c.proposal_id.in_(proposal_ids[start:start + 500]))
            seen |= {(r[0], r[1], r[2], r[3]) for r in conn.execute(query)}
    return seen


def poll_decisions(store: Store, connector: Any, rule_config: rules.RulesConfig) -> DecisionReport:
    """Fetch, judge and record new decisions on open proposals; revert the ones that do not count."""
    crm = connector.crm
    report = DecisionReport(crm=crm)
    rows = [r for r in list_proposals(store, crm, states=OPEN_PROPOSAL_STATES) if r.crm_record_id]
    if not rows:
        return report
    cursor = store.get_cursor(crm, CURSOR_KIND)
    refs = [ProposalRef(r.key, r.account_id, r.crm_record_id, r.published_at) for r in rows]
    page = connector.fetch_decisions(refs, cursor.modified_at if cursor else None)
    people = People(store, crm, rule_config, agent_ids=sorted(connector.agent_user_ids()))
    by_key = {r.key: r for r in rows}
    recorded = _recorded(store, [r.id for r in rows if r.id is not None])
    state = {r.key: r.state for r in rows}
    decided: dict[str, tuple[str, datetime]] = {}
    refused: dict[str, str] = {}
    new_rows: list[dict[str, Any]] = []
    for event in page.events:
        row = by_key.get(event.key)
        if row is None or not event.by_person or (row.id, event.actor_id, event.value, event.at) in recorded:
            continue
        verdict = rules.authorize(event.actor_id, event.value, row.from_owner_id, row.to_owner_id, people.context)
        if verdict.is_agent:
            continue
        recorded.add((row.id, event.actor_id, event.value, event.at))
        report.seen += 1
        new_rows.append({"proposal_id": row.id, "value": event.value, "actor_id": event.actor_id,
                         "decided_at": event.at, "accepted": verdict.counts, "reason": verdict.reason,
                         "seen_at": utc_now()})
        if verdict.counts:
            state[event.key] = event.value
            decided[event.key] = (event.actor_id or "", event.at)
            refused.pop(event.key, None)
        else:
            refused[event.key] = verdict.reason
            report.attempts.append({"account": row.account_name or row.account_id, "by": people.name(event.actor_id),
                                    "value": event.value, "why": verdict.reason})
    updates = _crm_updates(by_key, state, decided, refused, people)
    results = {r.record_id: r for r in connector.update_proposals(updates)} if updates else {}
    _commit(store, crm, page.cursor, new_rows, by_key, state, decided, refused, results)
    report.approved = sum(1 for k in decided if state[k] == rules.APPROVE)
    report.rejected = sum(1 for k in decided if state[k] == rules.REJECT)
    report.unauthorized = sum(1 for r in new_rows if not r["accepted"])
    report.reverted = sum(1 for k in refused if results.get(k) is not None and results[k].ok)
    return report


def _crm_updates(by_key: dict[str, Any], state: dict[str, str], decided: dict[str, tuple[str, datetime]],
                 refused: dict[str, str], people: People) -> list[ProposalUpdate]:
    updates: list[ProposalUpdate] = []
    for key, (actor, at) in decided.items():
        row = by_key[key]
        note = f"{state[key]} by {people.name(actor)} on {at:%Y-%m-%d %H:%M} UTC."
        updates.append(ProposalUpdate(key, row.account_id, row.crm_record_id, state[key], note=note,
                                      decided_by=actor, decided_at=at))
    for key, why in refused.items():
        row = by_key[key]
        note = f"Set back to {state[key]}: the decision did not count ({why})."
        updates.append(ProposalUpdate(key, row.account_id, row.crm_record_id, state[key], note=note))
    return updates


def _commit(store: Store, crm: str, cursor: datetime | None, new_rows: list[dict[str, Any]], by_key: dict[str, Any],
            state: dict[str, str], decided: dict[str, tuple[str, datetime]], refused: dict[str, str],
            results: dict[str, Any]) -> None:
    """Decisions, proposal states and the cursor in one transaction."""
    with store.transaction() as conn:
        if new_rows:
            conn.execute(sa.insert(DECISIONS_TABLE), new_rows)
        if cursor is not None:
            store.put_cursor(conn, crm, CURSOR_KIND, ChangeCursor(modified_at=cursor))
    changes: list[tuple[int, dict[str, Any]]] = []
    for key, (actor, at) in decided.items():
        changes.append((by_key[key].id, {"state": state[key], "decided_by": actor, "decided_at": at}))
    for key, why in refused.items():
        if results.get(key) is not None and results[key].ok:
            changes.append((by_key[key].id, {"note": f"decision did not count: {why}"}))
    set_states(store, changes)
