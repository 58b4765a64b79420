"""Inbound conflict detection end to end: emulator -> sync -> rules -> one CRM task per conflict.

Runs the real Salesforce and HubSpot clients against the emulator. Every conflict must show
up in the CRM exactly once: after a second run, after a restart (new store and connector
objects), and after a crash between the CRM write and our local commit.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from territory import rules
from territory.config import load_settings
from territory.connector.factory import build_connector
from territory.emulator import RunningEmulator, start_emulator
from territory.sync import open_store, run_sync
from territory.sync.conflicts import detect_conflicts

CRMS = ["salesforce", "hubspot"]
MARKER = re.compile(r"\[territory:(conflict:[^\]]+)\]")


def connector_for(emu: RunningEmulator, crm: str, url: str) -> Any:
    env = {k.lower(): v for k, v in emu.env(crm).items() if k != "TERRITORY_EMULATOR_URL"}
    return build_connector(load_settings(env_file=None, territory_db_url=url, **env))


def rules_for(store: Any, crm: str) -> rules.RulesConfig:
    """Two German postal territories owned by the first two active reps."""
    active = sorted(r["id"] for r in store.iter_records("owners", crm=crm) if r["is_active"])
    text = f"""
version: 1
territories:
  - id: DE-LOW
    owner: "{active[0]}"
    match: {{country: [DE], postal_code: ["0-4"]}}
  - id: DE-HIGH
    owner: "{active[1]}"
    match: {{country: [DE], postal_code: ["5-9"]}}
grandfather_open_opportunities: true
"""
    return rules.parse_rules(text, "test-rules.yaml")


def crm_flags(emu: RunningEmulator) -> Counter[str]:
    """How many open tasks carry each conflict key (the marker is in the body)."""
    keys: Counter[str] = Counter()
    for task in emu.control.records("tasks", include_deleted=False):
        found = MARKER.search(task.get("body") or "")
        if found and "complet" not in str(task.get("status", "")).lower():
            keys[found.group(1)] += 1
    return keys


@pytest.fixture(params=CRMS)
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, ...]]:
    crm = request.param
    url = f"sqlite:///{tmp_path / 'conflicts.db'}"
    with start_emulator(accounts=240, seed=11) as emu:
        store = open_store(url)
        summary = run_sync(connector_for(emu, crm, url), store)
        yield crm, emu, url, store, summary


def test_each_conflict_is_flagged_once_when_detection_runs_again_and_after_restart(
    setup: tuple[Any, ...],
) -> None:
    crm, emu, url, store, summary = setup
    rule_config = rules_for(store, crm)
    first = detect_conflicts(store, connector_for(emu, crm, url), rule_config,
                             changed_ids=summary.changed_account_ids)
    total = sum(first.conflicts.values())
    assert total > 0 and first.flagged == total and not first.failures
    assert {"mismatch", "duplicate", "inactive_owner"} <= set(first.conflicts)
    flags = crm_flags(emu)
    assert len(flags) == total and set(flags.values()) == {1}

    again = detect_conflicts(store, connector_for(emu, crm, url), rule_config)
    assert (again.flagged, again.already_flagged) == (0, total)

    restarted_store = open_store(url)
    restarted = detect_conflicts(restarted_store, connector_for(emu, crm, url), rule_config)
    assert restarted.flagged == 0
    assert crm_flags(emu) == flags


def test_crash_between_crm_write_and_commit_is_reconciled_when_rerun(
    setup: tuple[Any, ...], monkeypatch: pytest.MonkeyPatch,
) -> None:
    crm, emu, url, store, summary = setup
    rule_config = rules_for(store, crm)

    def crash(_store: Any, sent: list[Any]) -> None:
        if sent:  # the first non-empty batch to record comes right after the CRM write
            raise RuntimeError("killed after the CRM write")

    monkeypatch.setattr("territory.sync.conflicts._mark_sent_many", crash)
    with pytest.raises(RuntimeError):
        detect_conflicts(store, connector_for(emu, crm, url), rule_config,
                         changed_ids=summary.changed_account_ids)
    monkeypatch.undo()
    written = crm_flags(emu)
    assert written, "the crash should come after at least one CRM write"
    rerun = detect_conflicts(store, connector_for(emu, crm, url), rule_config)
    assert rerun.reconciled == len(written)
    assert set(crm_flags(emu).values()) == {1}
    assert len(crm_flags(emu)) == sum(rerun.conflicts.values())


def test_flag_is_completed_when_conflict_resolved_in_crm(setup: tuple[Any, ...]) -> None:
    crm, emu, url, store, summary = setup
    rule_config = rules_for(store, crm)
    report = detect_conflicts(store, connector_for(emu, crm, url), rule_config,
                              changed_ids=summary.changed_account_ids)
    mismatch = next(f for f in report.flags if f["status"] == "mismatch" and f["expected_owner_id"])
    emu.control.update("accounts", mismatch["account_id"], {"owner_id": mismatch["expected_owner_id"]})
    later = run_sync(connector_for(emu, crm, url), store)
    assert mismatch["account_id"] in later.changed_account_ids
    after = detect_conflicts(store, connector_for(emu, crm, url), rule_config,
                             changed_ids=later.changed_account_ids)
    assert after.resolved >= 1
    assert mismatch["key"] not in crm_flags(emu)


def test_unowned_account_is_assigned_and_audited_when_auto_assign_on(
    setup: tuple[Any, ...],
) -> None:
    crm, emu, url, store, summary = setup
    rule_config = rules_for(store, crm).model_copy(update={"auto_assign": True})
    report = detect_conflicts(store, connector_for(emu, crm, url), rule_config,
                              changed_ids=summary.changed_account_ids)
    assert report.auto_assigned > 0 and not report.failures
    history = store.history.list(crm=crm)
    assert len([h for h in history if h.source == "auto_assign"]) == report.auto_assigned
    entry = next(h for h in history if h.source == "auto_assign")
    assert entry.rule and entry.reason and entry.approver == "rules:auto_assign"
    live = emu.control.record("accounts", entry.account_id)
    owner_key = "owner_sf_id" if crm == "salesforce" else "owner_hs_id"
    assert live[owner_key] == entry.new_owner_id
    again = detect_conflicts(store, connector_for(emu, crm, url), rule_config)
    assert again.auto_assigned == 0


def test_auto_assign_leaves_an_account_a_human_assigned_after_the_sync(
    setup: tuple[Any, ...],
) -> None:
    crm, emu, url, store, summary = setup
    rule_config = rules_for(store, crm).model_copy(update={"auto_assign": True})
    preview = detect_conflicts(store, connector_for(emu, crm, url), rule_config,
                               changed_ids=summary.changed_account_ids, dry_run=True)
    unowned = [f for f in preview.flags if not f["current_owner_id"] and f["expected_owner_id"]]
    assert unowned
    target = unowned[0]
    human_pick = next(f["current_owner_id"] for f in preview.flags
                      if f["current_owner_id"] and f["current_owner_id"] != target["expected_owner_id"])
    emu.control.update("accounts", target["account_id"], {"owner_id": human_pick})  # not synced yet
    report = detect_conflicts(store, connector_for(emu, crm, url), rule_config,
                              changed_ids=summary.changed_account_ids)
    assert [s for s in report.skipped_assignments if s.startswith(f"{target['account_id']}:")]
    assert not report.failures and report.auto_assigned == len(unowned) - 1
    assigned = {h.account_id for h in store.history.list(crm=crm) if h.source == "auto_assign"}
    assert target["account_id"] not in assigned
    owner_key = "owner_sf_id" if crm == "salesforce" else "owner_hs_id"
    assert emu.control.record("accounts", target["account_id"])[owner_key] == human_pick


def test_conflict_that_comes_back_after_resolution_is_flagged_again_once(setup: tuple[Any, ...]) -> None:
    crm, emu, url, store, summary = setup
    rule_config = rules_for(store, crm)
    report = detect_conflicts(store, connector_for(emu, crm, url), rule_config,
                              changed_ids=summary.changed_account_ids)
    mismatch = next(f for f in report.flags if f["status"] == "mismatch" and f["expected_owner_id"]
                    and f["current_owner_id"])
    account, key = mismatch["account_id"], mismatch["key"]
    for owner in (mismatch["expected_owner_id"], mismatch["current_owner_id"]):  # fixed, then undone
        emu.control.update("accounts", account, {"owner_id": owner})
        later = run_sync(connector_for(emu, crm, url), store)
        detect_conflicts(store, connector_for(emu, crm, url), rule_config, changed_ids=later.changed_account_ids)
    assert crm_flags(emu)[f"{key}~2"] == 1 and key not in crm_flags(emu)
    again = detect_conflicts(store, connector_for(emu, crm, url), rule_config, changed_ids=[account])
    assert again.already_flagged == 1 and again.flagged == 0
    assert crm_flags(emu)[f"{key}~2"] == 1


def test_task_names_account_and_people_and_keeps_the_key_out_of_the_subject_when_flagged(
    setup: tuple[Any, ...],
) -> None:
    crm, emu, url, store, summary = setup
    report = detect_conflicts(store, connector_for(emu, crm, url), rules_for(store, crm))
    names = {r["id"]: r["name"] for r in store.iter_records("owners", crm=crm)}
    accounts = {a["id"]: a["name"] for a in store.iter_records("accounts", crm=crm)}
    flag = next(f for f in report.flags if f["status"] == "mismatch" and f["current_owner_id"] and f["expected_owner_id"])
    task = next(t for t in emu.control.records("tasks") if flag["key"] in (t.get("body") or ""))
    assert "[territory:" not in task["subject"] and flag["key"] not in task["subject"]
    assert accounts[flag["account_id"]] in task["subject"]
    for rep in (flag["current_owner_id"], flag["expected_owner_id"]):
        assert f"{names[rep]} [{rep}]" in task["body"]
    assert (flag["account_name"], flag["assignee_name"]) == (accounts[flag["account_id"]], names[flag["assignee_id"]])
    again = detect_conflicts(store, connector_for(emu, crm, url), rules_for(store, crm))
    assert again.flagged == 0 and again.already_flagged == report.flagged


def test_nothing_is_written_when_a_pass_would_create_more_tasks_than_the_cap(setup: tuple[Any, ...]) -> None:
    crm, emu, url, store, summary = setup
    rule_config = rules_for(store, crm)
    capped = detect_conflicts(store, connector_for(emu, crm, url), rule_config, max_flags=5)
    assert capped.capped and capped.would_flag > 5 and capped.flagged == 0
    assert not emu.control.records("tasks") and not store.outbox.pending()
    lifted = detect_conflicts(store, connector_for(emu, crm, url), rule_config, max_flags=None)
    assert lifted.flagged == capped.would_flag == len(crm_flags(emu))
