"""Publish a scenario's moves as proposals inside the CRM, and read proposals back.

``propose`` is safe to re-run: a proposal's key is derived from the scenario and the account,
the local row is written before the CRM upsert (by key, so a crash in between re-sends the
same record, never a second one), and rows already published are left alone. Publishing a
scenario supersedes the open proposals of every other one first: one scenario at a time.
HubSpot has no list view, so each proposal also gets one task for its approving manager,
sent through the outbox with a marker (exactly once).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from territory import rules
from territory.connector.proposals import SUPERSEDED, ProposalRecord, ProposalUpdate
from territory.sync.book import load_reps
from territory.sync.store import Store
from territory.sync.tables import OPEN_PROPOSAL_STATES, AccountRow, ProposalRow, utc_now

DEFAULT_CAP = 5000


class ProposeError(ValueError):
    """The scenario cannot be published (unknown, empty, over the cap)."""


@dataclass
class ProposeReport:
    """What one ``propose`` run did (``--json``)."""

    crm: str
    scenario: str
    dry_run: bool
    moves: int = 0
    published: int = 0
    already_published: int = 0
    superseded: int = 0
    tasks: int = 0
    failed: list[str] = field(default_factory=list)
    api_calls: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def proposal_key(crm: str, scenario: str, account_id: str) -> str:
    """Stable key of one scenario's move of one account (fits a Text(64) external id)."""
    return "tp-" + hashlib.sha1(f"{crm}|{scenario}|{account_id}".encode()).hexdigest()[:24]


class People:
    """Names, managers and activity of the synced owners, and the approval context."""

    def __init__(self, store: Store, crm: str, rule_config: rules.RulesConfig,
                 extra_names: dict[str, str] | None = None, agent_ids: Sequence[str] = ()) -> None:
        reps, managers = load_reps(store, crm)
        self.names = {**(extra_names or {}), **{r.id: r.name for r in reps}}
        self.active_reps = {r.id for r in reps if r.active}
        self.context = rules.build_approval_context(
            managers, rule_config.approvers, agent_ids=agent_ids,
            inactive={r.id for r in reps if not r.active}, names=self.names,
        )

    def name(self, user_id: str | None) -> str:
        return self.context.name(user_id)

    def approver_ids(self) -> list[str]:
        """Everyone who may decide some proposal: managers of reps and named approvers."""
        return sorted(set(self.context.managers.values()) | self.context.named)

    def in_words(self, text: str | None) -> str:
        """``text`` with every known user id replaced by the person's name."""
        if not text:
            return ""
        return re.sub(r"[A-Za-z0-9]+", lambda m: self.names.get(m.group(0), m.group(0)), text)


def account_names(store: Store, crm: str, ids: Sequence[str]) -> dict[str, str]:
    """Account id -> name as synced."""
    table: sa.Table = AccountRow.__table__  # type: ignore[attr-defined]
    names: dict[str, str] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(ids), 500):
            query = sa.select(table.c.id, table.c.name).where(table.c.crm == crm, table.c.id.in_(ids[start:start + 500]))
            names.update({row.id: row.name for row in conn.execute(query)})
    return names


def list_proposals(store: Store, crm: str | None = None, *, scenario: str | None = None,
                   states: Sequence[str] | None = None) -> list[ProposalRow]:
    """Stored proposals, oldest first, filtered by CRM, scenario and states."""
    query = select(ProposalRow).order_by(col(ProposalRow.id))
    if crm is not None:
        query = query.where(ProposalRow.crm == crm)
    if scenario is not None:
        query = query.where(ProposalRow.scenario == scenario)
    if states:
        query = query.where(col(ProposalRow.state).in_(list(states)))
    with Session(store.engine, expire_on_commit=False) as session:
        return list(session.exec(query).all())


def find_open_proposal(store: Store, crm: str, account: str) -> ProposalRow | None:
    """The newest open proposal of the account with this CRM id or (case-insensitive) name."""
    wanted = account.strip().lower()
    rows = [r for r in list_proposals(store, crm, states=OPEN_PROPOSAL_STATES)
            if r.account_id == account.strip() or (r.account_name or "").lower() == wanted]
    return rows[-1] if rows else None


def close_open_proposals(store: Store, crm: str, note: str) -> int:
    """Mark every open proposal of ``crm`` Superseded with ``note`` (their CRM records are gone)."""
    rows = list_proposals(store, crm, states=OPEN_PROPOSAL_STATES)
    set_states(store, [(r.id, {"state": SUPERSEDED, "note": note}) for r in rows if r.id is not None])
    return len(rows)


def set_states(store: Store, changes: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Update proposals' columns (``state``, ``note``...) in one transaction."""
    if not changes:
        return
    table: sa.Table = ProposalRow.__table__  # type: ignore[attr-defined]
    now = utc_now()
    with store.transaction() as conn:
        for proposal_id, values in changes:
            conn.execute(sa.update(table).where(table.c.id == proposal_id).values(updated_at=now, **values))


def propose(store: Store, connector: Any, scenario: str, rule_config: rules.RulesConfig, *,
            dry_run: bool = False, cap: int = DEFAULT_CAP) -> ProposeReport:
    """Publish ``scenario``'s moves as proposals (see the module docstring)."""
    crm = connector.crm
    found = store.scenarios.get(scenario)
    if found is None:
        known = ", ".join(store.scenarios.names()) or "none saved yet"
        raise ProposeError(f"no scenario {scenario!r} in the store (saved: {known}); plan one with "
                           f"`territory plan --scenario {scenario}`")
    _, moves = found
    moves = [m for m in moves if m.to_owner_id]
    report = ProposeReport(crm=crm, scenario=scenario, dry_run=dry_run, moves=len(moves))
    if len(moves) > cap:
        raise ProposeError(f"scenario {scenario!r} has {len(moves)} moves, more than --cap {cap}: "
                           "pass a higher --cap to publish them all")
    people = People(store, crm, rule_config)
    existing = {row.key: row for row in list_proposals(store, crm)}
    older = [row for row in existing.values() if row.scenario != scenario and row.state in OPEN_PROPOSAL_STATES]
    names = account_names(store, crm, [m.account_id for m in moves])
    records = [_record(crm, scenario, m, people, names) for m in moves]
    todo = [r for r in records if r.key not in existing or not existing[r.key].crm_record_id]
    report.already_published = len(records) - len(todo)
    report.superseded = len(older)
    report.preview = [{"account": names.get(r.account_id, r.account_id), "from": people.name(r.from_owner_id),
                       "to": people.name(r.to_owner_id), "approver": people.name(r.approver_id)} for r in todo[:20]]
    if dry_run:
        return report
    _supersede_older(store, connector, older, scenario)
    _insert_rows(store, crm, [r for r in todo if r.key not in existing], names)
    _publish(store, connector, todo, report)
    if getattr(connector, "crm", "") == "hubspot":
        from territory.sync.proposal_tasks import deliver_tasks

        report.tasks = deliver_tasks(store, connector, [r for r in todo if r.approver_id], people)
    report.api_calls = connector.api_calls
    return report


def _record(crm: str, scenario: str, move: Any, people: People, names: dict[str, str]) -> ProposalRecord:
    account = names.get(move.account_id, move.account_id)
    words = people.in_words(move.reason)
    reason = (f"Move {account} from {people.name(move.from_owner_id)} to {people.name(move.to_owner_id)}"
              f"{': ' + words if words else ''}")
    return ProposalRecord(
        key=proposal_key(crm, scenario, move.account_id), account_id=move.account_id,
        from_owner_id=move.from_owner_id, to_owner_id=move.to_owner_id, scenario=scenario, reason=reason,
        proposed_at=utc_now(), approver_id=rules.approving_manager(move.from_owner_id, move.to_owner_id, people.context),
        title=f"{account}: {people.name(move.from_owner_id)} -> {people.name(move.to_owner_id)}",
    )


def _insert_rows(store: Store, crm: str, records: Sequence[ProposalRecord], names: dict[str, str]) -> None:
    if not records:
        return
    table: sa.Table = ProposalRow.__table__  # type: ignore[attr-defined]
    now = utc_now()
    rows = [{"crm": crm, "key": r.key, "scenario": r.scenario, "account_id": r.account_id,
             "account_name": names.get(r.account_id), "from_owner_id": r.from_owner_id, "to_owner_id": r.to_owner_id,
             "reason": r.reason, "state": "Proposed", "approver_id": r.approver_id, "published_at": r.proposed_at,
             "updated_at": now} for r in records]
    with store.transaction() as conn:
        conn.execute(sa.insert(table), rows)


def _publish(store: Store, connector: Any, todo: Sequence[ProposalRecord], report: ProposeReport) -> None:
    by_key = {row.key: row for row in list_proposals(store, connector.crm)}
    results = connector.publish_proposals(todo) if todo else []
    changes: list[tuple[int, dict[str, Any]]] = []
    for record, result in zip(todo, results):
        row = by_key[record.key]
        assert row.id is not None
        if result.ok:
            changes.append((row.id, {"crm_record_id": result.created_id}))
            report.published += 1
        else:
            changes.append((row.id, {"state": "Failed", "error": f"{result.error_code}: {result.message}"}))
            report.failed.append(f"{record.account_id}: {result.error_code} {result.message}")
    set_states(store, changes)


def _supersede_older(store: Store, connector: Any, older: Sequence[ProposalRow], scenario: str) -> None:
    if not older:
        return
    note = f"Superseded by scenario {scenario!r}: only one scenario is published at a time."
    updates = [ProposalUpdate(r.key, r.account_id, r.crm_record_id, SUPERSEDED, note=note)
               for r in older if r.crm_record_id]
    results = {res.record_id: res for res in connector.update_proposals(updates)} if updates else {}
    changes = []
    for row in older:
        assert row.id is not None
        result = results.get(row.key)
        if row.crm_record_id is None or (result is not None and result.ok):
            changes.append((row.id, {"state": SUPERSEDED, "note": note}))
    set_states(store, changes)
