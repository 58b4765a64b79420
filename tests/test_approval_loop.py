"""The approval loop against the emulator for both CRMs: install, publish, decide, apply.

Real clients (simple-salesforce, hubspot-api-client) behind our connectors, a SQLite store and
managers playing their part through the emulated CRM's UI as themselves.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from territory.cli.errors import run_with_exit_codes
from territory.cli.main import app
from territory.emulator.ui import UiEditRefused
from territory.sync.agent_runs import outbox_backlog
from territory.sync.apply import apply_approved
from territory.sync.decisions import poll_decisions
from territory.sync.proposals import propose
from tests.approval_support import CRMS, Loop, approve_all, loop_for, pick_moves, publish


def _cli(loop: Loop, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the CLI as the console script does (our exit codes), with the loop's settings."""
    for key, value in loop.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(loop.folder)
    capsys.readouterr()
    code = run_with_exit_codes(app, list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("crm", CRMS)
def test_install_changes_nothing_the_second_time_and_uninstall_refuses_open_proposals_without_force(
        crm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with loop_for(crm, tmp_path, installed=False) as loop:
        code, first = _cli(loop, monkeypatch, capsys, "install", "--json")
        assert code == 0, first
        assert json.loads(first)["changes"] > 0
        code, second = _cli(loop, monkeypatch, capsys, "install", "--json")
        assert code == 0 and json.loads(second)["changes"] == 0
        publish(loop, "q1", pick_moves(loop, 3))
        code, refused = _cli(loop, monkeypatch, capsys, "uninstall")
        assert code == 2 and "--force" in refused
        code, forced = _cli(loop, monkeypatch, capsys, "uninstall", "--force", "--json")
        assert code == 0 and json.loads(forced)["changes"] > 0
        assert not loop.proposals(states=["Proposed", "Approved"])
        code, again = _cli(loop, monkeypatch, capsys, "uninstall", "--json")
        assert code == 0 and json.loads(again)["changes"] == 0


@pytest.mark.parametrize("crm", CRMS)
def test_propose_publishes_once_and_a_newer_scenario_supersedes_the_older_when_published(
        crm: str, tmp_path: Path) -> None:
    with loop_for(crm, tmp_path) as loop:
        moves = pick_moves(loop, 6)
        first = publish(loop, "q1", moves[:4])
        rerun = propose(loop.store, loop.connector(), "q1", loop.rules())
        assert (first.published, rerun.published, rerun.already_published) == (4, 0, 4)
        newer = publish(loop, "q2", moves[2:])
        assert newer.superseded == 4 and newer.published == 4
        assert {r.state for r in loop.proposals(scenario="q1")} == {"Superseded"}
        assert len(loop.proposals(scenario="q2", states=["Proposed"])) == 4
        assert len(loop.proposals()) == 8  # one row per scenario and account, never a duplicate


@pytest.mark.parametrize("crm", CRMS)
def test_only_an_authorized_managers_decision_counts_when_managers_decide_in_the_crm(
        crm: str, tmp_path: Path) -> None:
    with loop_for(crm, tmp_path) as loop:
        publish(loop, "q1", pick_moves(loop, 8))
        people = loop.people()
        rows = loop.proposals(scenario="q1")
        outsider_row = rows[0]
        outsider = next(r for r in sorted(people.active_reps) if r not in {
            people.context.managers.get(outsider_row.from_owner_id), people.context.managers.get(outsider_row.to_owner_id),
            *people.context.named, outsider_row.to_owner_id, outsider_row.from_owner_id})
        if crm == "salesforce":  # an admin handed the approver permission set to one rep too many
            loop.connector().install(dry_run=False, approvers=[*people.approver_ids(), outsider])
        authorized, self_row = [r for r in rows if r is not outsider_row][:2]
        loop.decide(authorized, "Approved", authorized.approver_id)
        loop.decide(outsider_row, "Rejected", outsider)
        unauthorized = 1
        if crm == "hubspot" or self_row.to_owner_id in people.approver_ids():
            loop.decide(self_row, "Approved", self_row.to_owner_id)
            unauthorized += 1
        else:  # a rep without the approver permission set cannot even save the status
            with pytest.raises(UiEditRefused):
                loop.decide(self_row, "Approved", self_row.to_owner_id)
        report = poll_decisions(loop.store, loop.connector(), loop.rules())
        assert (report.approved, report.unauthorized, report.reverted) == (1, unauthorized, unauthorized)
        states = {r.key: r.state for r in loop.proposals(scenario="q1")}
        assert (states[authorized.key], states[self_row.key], states[outsider_row.key]) == \
            ("Approved", "Proposed", "Proposed")
        assert {r.key: r.decided_by for r in loop.proposals(states=["Approved"])} == \
            {authorized.key: authorized.approver_id}


@pytest.mark.parametrize("crm", CRMS)
def test_apply_moves_contacts_and_open_opportunities_and_writes_one_note_when_grandfathering_is_off(
        crm: str, tmp_path: Path) -> None:
    with loop_for(crm, tmp_path, grandfather=False) as loop:
        opps = [o for o in loop.emu.control.records("opportunities") if not o.get("is_closed")]
        key = "sf_id" if crm == "salesforce" else "hs_id"
        with_opp = {o["account_n"]: o for o in opps if o.get("account_n")}
        account = next(a for a in loop.emu.control.records("accounts") if a["n"] in with_opp
                       and a["owner_n"] == with_opp[a["n"]]["owner_n"])
        target = next(m[2] for m in pick_moves(loop, 50) if m[2] != account[f"owner_{key}"])
        moves = [(account[key], account[f"owner_{key}"], target)]
        target_n = loop.emu.control.record("owners", target)["n"]
        bystander = next(o["n"] for o in loop.emu.control.records("owners")
                         if o["n"] not in (account["owner_n"], target_n) and o["is_active"])
        contacts = _add_contacts(loop, account["n"], account["owner_n"], bystander)
        publish(loop, "q1", moves)
        approve_all(loop, "q1")
        poll_decisions(loop.store, loop.connector(), loop.rules())
        report = apply_approved(loop.store, loop.connector(), loop.rules())
        assert (report.applied, report.audit_notes) == (1, 1)
        owned = {c.n: c.owner_n for c in loop.emu.state.table("contact").values() if c.n in contacts}
        assert owned[contacts[0]] == target_n  # the old owner's contact moved
        assert owned[contacts[1]] != target_n  # someone else's contact stays
        opp = next(o for o in loop.emu.control.records("opportunities") if o["n"] == with_opp[account["n"]]["n"])
        assert opp["owner_n"] == target_n
        assert report.contacts_moved == 1 and report.opportunities_moved >= 1
        assert loop.notes_by_account() == {account[key]: 1}


def _add_contacts(loop: Loop, account_n: int, owner_n: int, other_owner: int) -> list[int]:
    """One contact of the account's owner and one of ``other_owner`` (in the emulated CRM)."""
    state = loop.emu.state
    made = []
    with state.lock:
        for i, owner in enumerate((owner_n, other_owner)):
            n = state.next_n()
            state.store.insert("contact", n, {"first_name": f"C{i}", "last_name": "Kontakt", "owner_n": owner,
                                               "account_n": account_n, "email": f"c{n}@example.de"},
                               state.now(), None)
            made.append(n)
    return made


@pytest.mark.parametrize("crm", CRMS)
def test_apply_supersedes_a_human_change_fails_an_inactive_target_and_applies_the_rest_of_the_batch(
        crm: str, tmp_path: Path) -> None:
    with loop_for(crm, tmp_path) as loop:
        moves = pick_moves(loop, 5)
        publish(loop, "q1", moves)
        rows = approve_all(loop, "q1")
        poll_decisions(loop.store, loop.connector(), loop.rules())
        changed, inactive, *rest = rows
        people = loop.people()
        third = next(r for r in sorted(people.active_reps) if r not in (changed.from_owner_id, changed.to_owner_id))
        loop.ui(loop.connector().owner_edit(changed.account_id, third), changed.from_owner_id)
        loop.emu.control.delete("owners", inactive.to_owner_id)  # deactivates the target user
        before = loop.owners()
        report = apply_approved(loop.store, loop.connector(), loop.rules())
        states = {r.key: r for r in loop.proposals(scenario="q1")}
        assert states[changed.key].state == "Superseded"
        assert states[inactive.key].state == "Failed" and states[inactive.key].error
        assert inactive.to_owner_id != inactive.from_owner_id
        others_to_inactive = [r for r in rest if r.to_owner_id == inactive.to_owner_id]
        applied = [r for r in rest if r not in others_to_inactive]
        assert report.applied == len(applied) == report.audit_notes > 0
        after = loop.owners()
        expected = {**before, **{r.account_id: r.to_owner_id for r in applied}}
        assert after == expected  # the human's owner stands, the failed one unchanged
        assert loop.notes_by_account() == {r.account_id: 1 for r in applied}


STEP_PATHS = {
    "salesforce": {"owner": ("PATCH", "/composite/sobjects"), "children": ("PATCH", "/composite/sobjects"),
                   "note": ("POST", "/composite/sobjects"), "status": ("PATCH", "/composite/sobjects")},
    "hubspot": {"owner": ("POST", "/companies/batch/update"), "children": ("POST", "/contacts/batch/update"),
                "note": ("POST", "/notes/batch/create"), "status": ("POST", "/companies/batch/update")},
}


class _LoseOnce:
    """A fault plan that loses the answer of the first write matching method and path after
    ``skip`` such writes: the CRM applies the write, the client never hears back."""

    def __init__(self, log: list[tuple[str, str]], method: str, path: str, skip: int) -> None:
        self.log, self.method, self.path, self.skip = log, method, path, skip
        self.rate, self.kinds, self.script, self.seed, self.injected = 0.0, (), [], 0, {}
        self.fired = False

    def next_fault(self) -> str | None:
        method, path = self.log[-1]
        if self.fired or method != self.method or self.path not in path:
            return None
        if self.skip:
            self.skip -= 1
            return None
        self.fired = True
        self.injected["lost_response"] = 1
        return "lost_response"


@pytest.mark.parametrize("crm", CRMS)
@pytest.mark.parametrize("step", ["owner", "children", "note", "status"])
def test_a_lost_response_on_any_write_step_neither_loses_nor_repeats_a_change(
        crm: str, step: str, tmp_path: Path) -> None:
    with loop_for(crm, tmp_path, grandfather=False, accounts=40) as loop:
        moves = pick_moves(loop, 3)
        publish(loop, "q1", moves)
        rows = approve_all(loop, "q1")
        poll_decisions(loop.store, loop.connector(), loop.rules())
        for row in rows[:1]:
            account_n = next(a["n"] for a in loop.emu.control.records("accounts")
                             if loop.crm == "hubspot" and a["hs_id"] == row.account_id
                             or loop.crm == "salesforce" and a["sf_id"] == row.account_id)
            owner_n = next(a["owner_n"] for a in loop.emu.control.records("accounts") if a["n"] == account_n)
            _add_contacts(loop, account_n, owner_n, owner_n)
        before = loop.owners()
        method, path = STEP_PATHS[crm][step]
        # salesforce's status step is the second PATCH of proposals after owner and children PATCHes
        skip = {"owner": 0, "children": 1, "status": 2}.get(step, 0) if crm == "salesforce" else \
            (1 if step == "status" else 0)
        plan = _LoseOnce(loop.emu.server.request_log, method, path, skip)
        loop.emu.server.faults = plan  # type: ignore[assignment]
        for _ in range(3):
            apply_approved(loop.store, loop.connector(), loop.rules())
        assert plan.fired
        assert {r.state for r in loop.proposals(scenario="q1")} == {"Applied"}
        assert loop.owners() == {**before, **{m[0]: m[2] for m in moves}}
        assert loop.notes_by_account() == {m[0]: 1 for m in moves}
        assert outbox_backlog(loop.store)["pending"] == 0


@pytest.mark.parametrize("crm", CRMS)
def test_an_inbound_auto_assignment_gets_the_same_audit_note_once_when_checked_twice(crm: str, tmp_path: Path) -> None:
    from territory.sync.conflicts import detect_conflicts

    with loop_for(crm, tmp_path) as loop:
        rule_config = loop.rules().model_copy(update={"auto_assign": True})
        report = detect_conflicts(loop.store, loop.connector(), rule_config)
        detect_conflicts(loop.store, loop.connector(), rule_config)
        assigned = [h for h in loop.store.history.list(crm=crm) if h.source == "auto_assign"]
        assert report.auto_assigned == len(assigned) > 0
        notes = [a for a in loop.connector().fetch_activities([h.account_id for h in assigned])
                 if (a.external_key or "").startswith("assign:") and a.external_key.endswith(":note")]
        assert sorted(a.account_id for a in notes) == sorted(h.account_id for h in assigned)
        names = dict(loop.people().names)
        for note in notes:
            entry = next(h for h in assigned if h.account_id == note.account_id)
            assert f"To: {names[entry.new_owner_id]}" in note.body and "Reason: " in note.body
