"""The demo's approval loop: install, publish, managers decide in the CRM's UI, apply, read back.

The emulator plays the people: each proposal's approving manager approves it in the CRM's UI
as that user, except one they reject, one "approval" by a manager who may not decide it (the
agent sets it back to Proposed with a note), and one account whose owner a person changes
before apply (the proposal ends Superseded). What the CRM holds afterwards is read back
through the API and compared with the owners before apply plus the applied moves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.rule import Rule
from rich.table import Table


@dataclass
class LoopOutcome:
    """The loop's figures for the demo's summary and ``--json``."""

    proposals: int = 0
    approved: int = 0
    rejected: int = 0
    unauthorized: int = 0
    superseded: int = 0
    applied: int = 0
    audit_notes: int = 0
    owners_match_plan: bool = False
    after_owners: dict[str, str | None] = field(default_factory=dict)
    states: dict[str, int] = field(default_factory=dict)
    api_calls_apply: int = 0


def run_loop(console: Console, emu: Any, settings: Any, store: Any, rule_config: Any, scenario: str) -> LoopOutcome:
    """Install, publish, play the managers, apply; returns the figures."""
    from territory.connector.factory import build_connector
    from territory.sync.apply import apply_approved
    from territory.sync.decisions import poll_decisions
    from territory.sync.proposals import People, list_proposals, propose

    connector = build_connector(settings)
    crm = connector.crm
    people = People(store, crm, rule_config)
    console.print(Rule("7. Install the approval objects into the CRM"))
    steps = connector.install(dry_run=False, approvers=people.approver_ids())
    created = [s for s in steps if s.action not in ("exists", "absent")]
    console.print(f"{len(created)} components created or assigned; a second install changes "
                  f"{sum(s.action not in ('exists', 'absent') for s in connector.install(dry_run=True, approvers=people.approver_ids()))}.")

    console.print(Rule(f"8. Publish scenario {scenario!r} as proposals"))
    published = propose(store, connector, scenario, rule_config)
    again = propose(store, connector, scenario, rule_config)
    console.print(f"{published.published} proposals published ({published.tasks} approval tasks); a re-run "
                  f"publishes {again.published} (already there: {again.already_published}).")

    console.print(Rule("9. Managers decide in the CRM, as themselves"))
    rows = [r for r in list_proposals(store, crm, scenario=scenario) if r.crm_record_id]
    plays = _play_people(emu, connector, people, rows)
    for line in plays:
        console.print(f"  {line}")
    decisions = poll_decisions(store, connector, rule_config)
    console.print(f"Agent read {decisions.seen} decisions: {decisions.approved} approved, {decisions.rejected} "
                  f"rejected, {decisions.unauthorized} did not count.")
    for attempt in decisions.attempts:
        console.print(f"  [yellow]not counted:[/yellow] {attempt['account']}: {attempt['by']} - {attempt['why']}")

    console.print(Rule("10. Apply approved moves exactly once, with an audit note each"))
    account_ids = sorted({a for a in _all_account_ids(store, crm)})
    before = connector.fetch_current_owners(account_ids)
    calls = connector.api_calls
    applied = apply_approved(store, connector, rule_config)
    api_calls = connector.api_calls - calls
    rerun = apply_approved(store, connector, rule_config)
    after = connector.fetch_current_owners(account_ids)
    states = Counter(r.state for r in list_proposals(store, crm, scenario=scenario))
    expected = dict(before)
    for row in list_proposals(store, crm, scenario=scenario, states=["Applied"]):
        expected[row.account_id] = row.to_owner_id
    console.print(f"Applied {applied.applied}, superseded {applied.superseded}, failed {applied.failed}; "
                  f"{applied.audit_notes} audit notes; {api_calls} API calls. A re-run applies {rerun.applied}.")
    return LoopOutcome(
        proposals=published.published + published.already_published, approved=decisions.approved,
        rejected=states.get("Rejected", 0), unauthorized=decisions.unauthorized,
        superseded=states.get("Superseded", 0), applied=states.get("Applied", 0), audit_notes=applied.audit_notes,
        owners_match_plan=after == expected, after_owners=after, states=dict(states), api_calls_apply=api_calls,
    )


def _all_account_ids(store: Any, crm: str) -> list[str]:
    import sqlalchemy as sa

    from territory.sync.tables import AccountRow

    table: sa.Table = AccountRow.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        return [row.id for row in conn.execute(sa.select(table.c.id).where(table.c.crm == crm,
                                                                             table.c.is_deleted.is_(False)))]


def _play_people(emu: Any, connector: Any, people: Any, rows: list[Any]) -> list[str]:
    """Managers approve what is theirs to decide; one rejection, one unauthorized approval,
    one owner change by a person before apply. Returns what happened, in words."""
    decidable = [r for r in rows if r.approver_id]
    if len(decidable) < 4:
        return ["too few proposals with an approver to play the managers"]
    meddling = _meddled(people, decidable, connector.crm)
    rejected, *others = [r for r in decidable if meddling is None or r is not meddling[0]]
    # the losing rep hands the account on in the CRM's UI: an active one (inactive users cannot edit)
    changed = next((r for r in others if r.from_owner_id in people.active_reps), others[0])
    rest = [r for r in others if r is not changed]
    lines = []
    _ui(emu, connector, connector.status_edit(rejected.crm_record_id, "Rejected"), rejected.approver_id)
    lines.append(f"{people.name(rejected.approver_id)} rejects moving {rejected.account_name}.")
    if meddling is None:
        lines.append("Every manager may decide every move in this small org: nobody to approve out of turn.")
    else:
        meddled, outsider = meddling
        _ui(emu, connector, connector.status_edit(meddled.crm_record_id, "Approved"), outsider)
        lines.append(f"{people.name(outsider)} approves moving {meddled.account_name}, which is not theirs to decide.")
    for row in [changed, *rest]:
        _ui(emu, connector, connector.status_edit(row.crm_record_id, "Approved"), row.approver_id)
    lines.append(f"The approving managers approve the other {len(rest) + 1} proposals.")
    third = next(r for r in sorted(people.names) if r not in (changed.from_owner_id, changed.to_owner_id)
                 and r in people.active_reps)
    _ui(emu, connector, connector.owner_edit(changed.account_id, third), changed.from_owner_id)
    lines.append(f"{people.name(changed.from_owner_id)} hands {changed.account_name} to {people.name(third)} "
                 "before the agent applies the approved move.")
    return lines


def _meddled(people: Any, rows: list[Any], crm: str) -> tuple[Any, str] | None:
    """A proposal and a manager who may decide others but not this one. Without such a pair
    (small orgs), HubSpot's gaining rep tries to approve their own move; on Salesforce only
    approvers may edit the status at all, so there is nobody to try (None)."""
    for row in rows[1:]:
        allowed = {people.context.managers.get(row.from_owner_id), people.context.managers.get(row.to_owner_id),
                   *people.context.named, row.to_owner_id}
        outsiders = [c for c in people.approver_ids() if c not in allowed and c not in people.context.inactive]
        if outsiders:
            return row, str(outsiders[0])
    return None if crm == "salesforce" else (rows[1], str(rows[1].to_owner_id))


def _ui(emu: Any, connector: Any, edit: Any, as_user: str | None) -> None:
    emu.control.ui_edit(connector.crm, edit.object, edit.record_id, as_user or "", edit.fields)


def print_balance(console: Console, rows: list[Any]) -> None:
    """Balance before/after per rep, by name."""
    table = Table(title="Potential per rep, before and after (deviation from target)")
    for column in ("rep", "accounts before", "after", "potential dev. before", "after"):
        table.add_column(column, justify="left" if column == "rep" else "right")
    for row in sorted(rows, key=lambda r: r.deviation_potential_before):
        if not row.active and not row.accounts_after and not row.accounts_before:
            continue
        table.add_row(row.name + ("" if row.active else " (inactive)"), str(row.accounts_before),
                      str(row.accounts_after), f"{row.deviation_potential_before:+.0%}",
                      f"{row.deviation_potential_after:+.0%}")
    console.print(table)
