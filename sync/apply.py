"""Apply approved proposals exactly once, with an audit note on every changed account.

Each proposal is four ordered outbox steps (``proposal:<key>:<n>-<step>``):

1. ``owner``: compare-and-set owner change. The account must still belong to the proposal's
   from-owner; if a human changed it since, the proposal becomes Superseded (a human decision
   is never overwritten). An inactive or unknown target makes it Failed with the reason. An
   account that already has the new owner (our own earlier, interrupted run) counts as done.
2. ``children``: the old owner's contacts, and open opportunities only when grandfathering
   is off, move with the account. Re-running finds nothing left to move.
3. ``note``: the audit note, created exactly once (marker read-back, see
   :mod:`sync.proposal_tasks`).
4. ``status``: the CRM proposal becomes Applied; in the same local transaction the step is
   marked sent, the proposal Applied, the account's stored owner updated and one entry appended
   to the ownership history.

A step runs only after the one before it is sent, so killing the process anywhere leaves a
state the next run finishes without losing or repeating an owner change, a child move or a
note. A step that keeps failing (``MAX_ATTEMPTS``) ends the proposal as Failed with the
CRM's error; the rest of the batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from territory import rules
from territory.connector.errors import CrmError
from territory.connector.proposals import APPLIED, FAILED, SUPERSEDED, ChildMove, ProposalUpdate
from territory.connector.records import ActivityRequest, OwnerChange
from territory.sync import proposal_tasks as outbox
from territory.sync.history import HistoryEntry
from territory.sync.proposals import People, list_proposals, set_states
from territory.sync.store import Store
from territory.sync.tables import AccountRow, PlanMoveRow, ProposalRow, ScenarioRow, utc_now

STEP_KIND = "proposal_step"
STEPS = ("owner", "children", "note", "status")
SOURCE_APPROVAL = "approval"
MAX_ATTEMPTS = 5
BATCH = 200
DEFAULT_CAP = 5000
FAILED_CODES = {"INACTIVE_OWNER_OR_USER", "INACTIVE_OWNER", "UNKNOWN_OWNER", "INVALID_CROSS_REFERENCE_KEY",
                "ENTITY_IS_DELETED", "NOT_FOUND", "TRANSFER_REQUIRES_READ"}


class ApplyCapError(ValueError):
    """More approved proposals than the cap allows in one run."""


@dataclass
class ApplyReport:
    """What one apply run did (``--json``)."""

    crm: str
    dry_run: bool
    approved: int = 0
    applied: int = 0
    superseded: int = 0
    failed: int = 0
    contacts_moved: int = 0
    opportunities_moved: int = 0
    audit_notes: int = 0
    problems: list[str] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    api_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def step_key(proposal_key: str, step: str) -> str:
    """The outbox key of one step of one proposal."""
    return f"proposal:{proposal_key}:{STEPS.index(step) + 1}-{step}"


def apply_approved(store: Store, connector: Any, rule_config: rules.RulesConfig, *, dry_run: bool = False,
                   cap: int = DEFAULT_CAP, batch: int = BATCH,
                   progress: Callable[[int, int], None] | None = None) -> ApplyReport:
    """Apply every Approved proposal of the connector's CRM (see the module docstring)."""
    report = ApplyReport(crm=connector.crm, dry_run=dry_run)
    rows = list_proposals(store, connector.crm, states=[rules.APPROVE])
    report.approved = len(rows)
    people = People(store, connector.crm, rule_config)
    if dry_run:
        report.preview = [{"account": r.account_name or r.account_id, "from": people.name(r.from_owner_id),
                           "to": people.name(r.to_owner_id), "approved_by": people.name(r.decided_by)} for r in rows[:50]]
        return report
    if len(rows) > cap:
        raise ApplyCapError(f"{len(rows)} approved proposals, more than --cap {cap}: pass a higher --cap")
    run = _Run(store, connector, rule_config, people, report)
    for start in range(0, len(rows), batch):
        run.chunk(rows[start:start + batch])
        if progress is not None:
            progress(min(start + batch, len(rows)), len(rows))
    report.api_calls = connector.api_calls
    return report


class _Run:
    def __init__(self, store: Store, connector: Any, rule_config: rules.RulesConfig, people: People,
                 report: ApplyReport) -> None:
        self.store, self.connector, self.rules, self.people, self.report = store, connector, rule_config, people, report
        self._closed: set[int | None] = set()

    def chunk(self, rows: Sequence[ProposalRow]) -> None:
        outbox.enqueue(self.store, STEP_KIND, [(step_key(r.key, s), {"proposal_id": r.id, "step": s})
                                               for r in rows for s in STEPS])
        live = list(rows)
        for step, run in (("owner", self._owner), ("children", self._children), ("note", self._note),
                          ("status", self._status)):
            ready = self._ready(live, step)
            if ready:
                run(ready)
            live = [r for r in live if r.id not in self._closed]

    def _ready(self, rows: Sequence[ProposalRow], step: str) -> list[tuple[ProposalRow, dict[str, Any]]]:
        """Rows whose ``step`` is pending and every earlier step sent."""
        keys = {step_key(r.key, s): r for r in rows for s in STEPS}
        with self.store.engine.connect() as conn:
            table = outbox.OUTBOX
            found = {}
            items = list(keys)
            for start in range(0, len(items), 500):
                query = sa.select(table).where(table.c.external_key.in_(items[start:start + 500]))
                found.update({row["external_key"]: dict(row) for row in conn.execute(query).mappings()})
        ready = []
        for r in rows:
            earlier = STEPS[:STEPS.index(step)]
            mine = found.get(step_key(r.key, step))
            if mine and mine["status"] == "pending" and all(
                    (found.get(step_key(r.key, s)) or {}).get("status") == "sent" for s in earlier):
                ready.append((r, mine))
        return ready

    # step 1 ----------------------------------------------------------------------------------
    def _owner(self, ready: list[tuple[ProposalRow, dict[str, Any]]]) -> None:
        outbox.count_attempt(self.store, [step["id"] for _, step in ready])
        changes = [OwnerChange(r.account_id, r.to_owner_id or "", expected_owner_id=r.from_owner_id) for r, _ in ready]
        results = self.connector.apply_owner_changes(changes)
        done: list[tuple[int, str | None]] = []
        for (row, step), result in zip(ready, results):
            if result.ok:
                done.append((step["id"], None))
            elif result.error_code == "OWNER_CHANGED":
                now = self.connector.fetch_current_owners([row.account_id]).get(row.account_id)
                self._close(row, SUPERSEDED, f"Not applied: the owner was changed to {self.people.name(now)} in the "
                                             "CRM since the proposal; that decision stands.")
            elif result.error_code in FAILED_CODES or not result.retriable or step["attempts"] + 1 >= MAX_ATTEMPTS:
                self._close(row, FAILED, f"Not applied: {result.error_code}: {result.message}", error=True)
        outbox.mark(self.store, done)

    # step 2 ----------------------------------------------------------------------------------
    def _children(self, ready: list[tuple[ProposalRow, dict[str, Any]]]) -> None:
        with_children = [(r, s) for r, s in ready if r.from_owner_id]
        include = not self.rules.grandfather_open_opportunities
        moves = [ChildMove(r.account_id, r.from_owner_id or "", r.to_owner_id or "", include) for r, _ in with_children]
        results = self.connector.move_children(moves) if moves else []
        done = [(s["id"], None) for r, s in ready if not r.from_owner_id]
        failed: list[tuple[int, str, bool]] = []
        for (row, step), result in zip(with_children, results):
            self.report.contacts_moved += result.contacts
            self.report.opportunities_moved += result.opportunities
            if result.ok:
                done.append((step["id"], None))
            elif step["attempts"] + 1 >= MAX_ATTEMPTS:
                self._close(row, FAILED, f"Owner changed, but moving its children failed: {result.message}", error=True)
            else:
                failed.append((step["id"], result.message or "child move failed", False))
        outbox.count_attempt(self.store, [s["id"] for _, s in ready])
        outbox.mark(self.store, done, failed)

    # step 3 ----------------------------------------------------------------------------------
    def _note(self, ready: list[tuple[ProposalRow, dict[str, Any]]]) -> None:
        requests = [ActivityRequest(
            account_id=r.account_id, kind="note", owner_id=r.to_owner_id, completed=True,
            subject=f"Territory reassignment: {self.people.name(r.from_owner_id)} -> {self.people.name(r.to_owner_id)}",
            body=self._note_body(r), external_key=step_key(r.key, "note"),
        ) for r, _ in ready]
        results = outbox.deliver_activities(self.store, self.connector, [s for _, s in ready], requests)
        for row, step in ready:
            result = results[step["external_key"]]
            if result.ok:
                self.report.audit_notes += 1
            elif not result.retriable or step["attempts"] + 1 >= MAX_ATTEMPTS:
                self._close(row, FAILED, f"Owner changed, but the audit note failed: {result.message}", error=True)

    def _note_body(self, row: ProposalRow) -> str:
        return outbox.audit_note_body(
            account=row.account_name or row.account_id, from_name=self.people.name(row.from_owner_id),
            to_name=self.people.name(row.to_owner_id), reason=row.reason or "",
            approver=self.people.name(row.decided_by),
            decided=f"{row.decided_at:%Y-%m-%d %H:%M} UTC" if row.decided_at else "",
            origin=f"Scenario: {row.scenario}", key=row.key)

    # step 4 ----------------------------------------------------------------------------------
    def _status(self, ready: list[tuple[ProposalRow, dict[str, Any]]]) -> None:
        now = utc_now()
        updates = [ProposalUpdate(r.key, r.account_id, r.crm_record_id, APPLIED, applied_at=now,
                                  note=f"Applied on {now:%Y-%m-%d %H:%M} UTC.") for r, _ in ready]
        results = self.connector.update_proposals(updates)
        for (row, step), result in zip(ready, results):
            if result.ok:
                self._finish(row, step, now)
            elif step["attempts"] + 1 >= MAX_ATTEMPTS:
                self.report.problems.append(f"{row.account_id}: applied, but the CRM status stays behind: {result.message}")
                outbox.mark(self.store, [], [(step["id"], result.message or "", True)])
            else:
                outbox.count_attempt(self.store, [step["id"]])

    def _finish(self, row: ProposalRow, step: dict[str, Any], now: Any) -> None:
        """Step sent, proposal Applied, stored owner, plan move and one history entry: together."""
        accounts: sa.Table = AccountRow.__table__  # type: ignore[attr-defined]
        proposals: sa.Table = ProposalRow.__table__  # type: ignore[attr-defined]
        moves: sa.Table = PlanMoveRow.__table__  # type: ignore[attr-defined]
        scenarios: sa.Table = ScenarioRow.__table__  # type: ignore[attr-defined]
        with self.store.transaction() as conn:
            claimed = conn.execute(sa.update(outbox.OUTBOX).where(
                outbox.OUTBOX.c.id == step["id"], outbox.OUTBOX.c.status == "pending").values(status="sent", sent_at=now))
            if claimed.rowcount != 1:
                return
            conn.execute(sa.update(proposals).where(proposals.c.id == row.id).values(
                state=APPLIED, applied_at=now, updated_at=now, error=None))
            conn.execute(sa.update(accounts).where(accounts.c.crm == row.crm, accounts.c.id == row.account_id)
                         .values(owner_id=row.to_owner_id))
            scenario_id = sa.select(scenarios.c.id).where(scenarios.c.name == row.scenario).scalar_subquery()
            conn.execute(sa.update(moves).where(moves.c.scenario_id == scenario_id, moves.c.account_id == row.account_id)
                         .values(status="applied"))
            self.store.history.append([HistoryEntry(
                crm=row.crm, account_id=row.account_id, old_owner_id=row.from_owner_id, new_owner_id=row.to_owner_id,
                reason=row.reason or "approved proposal", rule=f"scenario:{row.scenario}", approver=row.decided_by,
                source=SOURCE_APPROVAL, decided_at=row.decided_at, crm_result="ok",
            )], conn)
        self.report.applied += 1

    # closing a proposal early ------------------------------------------------------------------
    def _close(self, row: ProposalRow, state: str, note: str, *, error: bool = False) -> None:
        """Superseded/Failed: the CRM record says so (best effort), the steps left are cancelled."""
        update = ProposalUpdate(row.key, row.account_id, row.crm_record_id, state, note=note,
                                error=note if error else None)
        try:
            self.connector.update_proposals([update])
        except CrmError as exc:  # the local state must still close; the report says so
            self.report.problems.append(f"{row.account_id}: could not mark {state} in the CRM: {exc}")
        values: dict[str, Any] = {"state": state, "note": note}
        if error:
            values["error"] = note
        set_states(self.store, [(row.id, values)])  # type: ignore[list-item]
        with self.store.transaction() as conn:
            keys = [step_key(row.key, s) for s in STEPS]
            conn.execute(sa.update(outbox.OUTBOX).where(outbox.OUTBOX.c.external_key.in_(keys),
                                                        outbox.OUTBOX.c.status == "pending")
                         .values(status="failed", last_error=note))
        self._closed.add(row.id)
        if state == SUPERSEDED:
            self.report.superseded += 1
        else:
            self.report.failed += 1
            self.report.problems.append(f"{row.account_name or row.account_id}: {note}")
