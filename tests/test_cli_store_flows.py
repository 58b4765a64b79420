"""CLI flows on the synced store: demo, check, store-backed plan with scenarios, drafted rules."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from territory import rules
from territory.cli.main import app
from territory.emulator import RunningEmulator, start_emulator
from territory.planner.validate import HARD_KINDS
from territory.sync import open_store
from territory.sync.draft_rules import draft_rules_yaml

runner = CliRunner()


def test_demo_runs_the_whole_loop_for_both_crms_and_writes_its_files(tmp_path: Path) -> None:
    folder, figures = tmp_path / "demo", tmp_path / "demo.json"
    result = runner.invoke(app, ["demo", "--accounts", "300", "--time-limit", "3", "--dir", str(folder),
                                 "--json", str(figures)])
    assert result.exit_code == 0, result.output
    for step in ("Initial sync", "drafted from the book", "Conflicts flagged", "incremental sync", "Rebalance plan",
                 "Install the approval objects", "Publish scenario", "Managers decide", "Apply approved moves"):
        assert step in result.output
    assert "Re-run: 0 new flags" in result.output
    assert "Saved scenario 'demo'" in result.output
    runs = json.loads(figures.read_text())["runs"]
    assert [r["crm"] for r in runs] == ["salesforce", "hubspot"]
    for run in runs:
        assert list(run) == ["crm", "accounts", "conflicts_flagged", "proposals", "approved", "rejected",
                             "unauthorized", "superseded", "applied", "audit_notes", "owners_match_plan",
                             "max_dev_potential_before", "max_dev_potential_after", "elapsed_s"]
        assert run["owners_match_plan"] is True
        assert run["applied"] == run["audit_notes"] > 0
        assert run["rejected"] == run["superseded"] == 1
        assert run["max_dev_potential_after"] < run["max_dev_potential_before"]
        crm_folder = folder / run["crm"]
        for name in ("demo.db", "territory.yaml", "plan.csv", "metrics.json"):
            assert (crm_folder / name).exists(), name
        metrics = json.loads((crm_folder / "metrics.json").read_text())
        assert not [v for v in metrics["violations"] if v["kind"] in HARD_KINDS]
        assert metrics["moves"] == len((crm_folder / "plan.csv").read_text().splitlines()) - 1
    assert runs[1]["unauthorized"] == 1  # HubSpot: someone always tries out of turn


@pytest.fixture
def synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RunningEmulator, Path]]:
    """An emulator and a synced SQLite store, with the CLI's settings pointing at both."""
    monkeypatch.chdir(tmp_path)
    with start_emulator(accounts=250, seed=21) as emu:
        for key, value in emu.env("hubspot").items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("TERRITORY_DB_URL", f"sqlite:///{tmp_path / 'store.db'}")
        monkeypatch.setenv("TERRITORY_RULES", str(tmp_path / "territory.yaml"))
        assert runner.invoke(app, ["sync"]).exit_code in (0, 4)
        store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
        (tmp_path / "territory.yaml").write_text(draft_rules_yaml(store, "hubspot"), encoding="utf-8")
        yield emu, tmp_path


def test_drafted_rules_validate_and_name_only_synced_active_owners(synced: Any) -> None:
    _, folder = synced
    config = rules.load_rules(folder / "territory.yaml")
    store = open_store(f"sqlite:///{folder / 'store.db'}")
    active = {r["id"] for r in store.iter_records("owners", crm="hubspot") if r["is_active"]}
    assert config.territories and {t.owner for t in config.territories} <= active
    assert config.coverage.capacity_per_rep > 0


def test_check_flags_once_and_reports_json_when_run_twice(synced: Any) -> None:
    emu, _ = synced
    dry = runner.invoke(app, ["check", "--dry-run", "--json"])
    assert dry.exit_code == 6, dry.output  # conflicts are open
    planned = sum(json.loads(dry.stdout)["conflicts"].values())
    assert planned > 0 and not emu.control.records("tasks")
    first = runner.invoke(app, ["check", "--json"])
    second = runner.invoke(app, ["check", "--json"])
    assert (first.exit_code, second.exit_code) == (6, 6)
    assert json.loads(first.stdout)["flagged"] == planned
    assert json.loads(second.stdout)["flagged"] == 0
    assert len(emu.control.records("tasks")) == planned


def test_check_exits_2_with_next_step_when_store_is_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TERRITORY_CRM", "hubspot")
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "x")
    monkeypatch.setenv("TERRITORY_DB_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    from territory.cli.errors import run_with_exit_codes

    assert run_with_exit_codes(app, ["check"]) == 2


def test_store_plan_saves_named_scenarios_for_comparison_when_planned_twice(synced: Any) -> None:
    _, folder = synced
    for name, tolerance in (("tight", "0.05"), ("loose", "0.2")):
        result = runner.invoke(app, ["plan", "--scenario", name, "--tolerance", tolerance,
                                     "--time-limit", "3", "--out", str(folder / f"{name}.csv")])
        assert result.exit_code == 0, result.output
        assert f"Saved scenario '{name}'" in result.output
    listed = runner.invoke(app, ["scenarios", "list", "--json"])
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {"tight", "loose"} and rows["loose"]["tolerance"] == 0.2
    table = runner.invoke(app, ["scenarios", "list"]).output
    assert "max dev. P" in table and "20.0%" in table and f"{rows['tight']['moves']:,}" in table
    shown = runner.invoke(app, ["scenarios", "show", "tight", "--json"])
    moves = json.loads(shown.stdout)
    assert len(moves) == rows["tight"]["moves"]
    assert all(m["status"] == "proposed" and m["reason"] for m in moves)
    again = runner.invoke(app, ["plan", "--scenario", "tight", "--time-limit", "3"])
    assert again.exit_code == 2 and "exists already" in again.output


def test_explain_and_validate_use_the_store_when_no_csv_given(synced: Any) -> None:
    _, folder = synced
    store = open_store(f"sqlite:///{folder / 'store.db'}")
    account = next(iter(store.iter_records("accounts", crm="hubspot")))
    explained = runner.invoke(app, ["explain", account["id"]])
    assert explained.exit_code == 0, explained.output
    assert f"account {account['id']}" in explained.output and "status:" in explained.output
    validated = runner.invoke(app, ["rules", "validate"])
    assert validated.exit_code == 0 and "OK and rep ids" in validated.output
    unknown = runner.invoke(app, ["explain", "no-such-account"])
    assert unknown.exit_code != 0


def test_sync_checks_inbound_accounts_when_a_rules_file_exists(synced: Any) -> None:
    emu, _ = synced
    emu.control.mutate(fraction=0.05, seed=3)
    result = runner.invoke(app, ["sync", "--json"])
    assert result.exit_code in (0, 4), result.output
    payload = json.loads(result.stdout)
    inbound = payload["inbound_check"]
    assert inbound["evaluated"] >= payload["changed_accounts"] > 0
    flagged_keys = {f["key"] for f in inbound["flags"]}
    assert inbound["flagged"] == len(flagged_keys)
    bodies = " ".join(t.get("body") or "" for t in emu.control.records("tasks"))
    assert all(key in bodies for key in flagged_keys)
    skipped = runner.invoke(app, ["sync", "--json", "--no-check"])
    assert json.loads(skipped.stdout)["inbound_check"] is None


def test_rules_draft_refuses_to_overwrite_when_file_exists(synced: Any) -> None:
    _, folder = synced
    first = runner.invoke(app, ["rules", "draft", "--out", str(folder / "draft.yaml")])
    assert first.exit_code == 0 and (folder / "draft.yaml").exists()
    assert rules.load_rules(folder / "draft.yaml").territories
    from territory.cli.errors import run_with_exit_codes

    assert run_with_exit_codes(app, ["rules", "draft", "--out", str(folder / "draft.yaml")]) == 2


def test_store_plan_takes_homes_file_and_names_unknown_rep_ids_when_given(synced: Any) -> None:
    _, folder = synced
    store = open_store(f"sqlite:///{folder / 'store.db'}")
    owners = [r for r in store.iter_records("owners", crm="hubspot") if r["is_active"]]
    homes = folder / "homes.csv"
    homes.write_text(f"id,lat,lon\n{owners[0]['id']},52.52,13.40\nNOPE-1,48.1,11.6\n", encoding="utf-8")
    postal = next(r["postal_code"] for r in store.iter_records("accounts", crm="hubspot") if r["postal_code"])
    times = folder / "times.csv"
    times.write_text(f"rep_id;postal_code;minutes\n{owners[0]['id']};{postal};12,5\n", encoding="utf-8")
    result = runner.invoke(app, ["plan", "--scenario", "homes", "--reps", str(homes), "--time-limit", "3",
                                 "--json", str(folder / "m.json"), "--travel-times", str(times)])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "1 rep ids in --reps are not synced reps and were ignored: NOPE-1 (line 3)" in flat
    assert f"{len(owners) - 1 + sum(1 for r in store.iter_records('owners', crm='hubspot') if not r['is_active'])} " \
           "reps without a home location" in flat
    assert owners[0]["name"] in result.output  # the table names reps
    metrics = json.loads((folder / "m.json").read_text())
    assert owners[0]["id"] in metrics["rep_travel_minutes_per_visit"]  # --json keeps ids
    assert metrics["travel_times_source"] == "matrix"  # keyed by the synced postal codes
    assert "lack drive times in" in flat and "times.csv" in flat
    shown = runner.invoke(app, ["scenarios", "show", "homes"], env={"COLUMNS": "250"})
    moves = json.loads(runner.invoke(app, ["scenarios", "show", "homes", "--json"]).stdout)
    names = {r["id"]: r["name"] for r in store.iter_records("owners", crm="hubspot")}
    assert moves and f"{names[moves[0]['to_owner_id']]} ({moves[0]['to_owner_id']})" in " ".join(shown.output.split())


def test_store_plan_reads_visit_modes_from_the_crm_field_named_in_coverage_when_synced(synced: Any) -> None:
    import yaml
    from hubspot import HubSpot
    from hubspot.crm.properties import PropertyCreate
    from urllib3.util.retry import Retry

    from territory.sync.planning import build_store_instance

    emu, folder = synced
    env = emu.env("hubspot")
    hub = HubSpot(access_token=env["HUBSPOT_ACCESS_TOKEN"], host=env["HUBSPOT_BASE_URL"], retry=Retry(total=False))
    hub.crm.properties.core_api.create("companies", PropertyCreate(
        name="visit_mode", label="Visit mode", type="string", field_type="text", group_name="companyinformation"))
    store = open_store(f"sqlite:///{folder / 'store.db'}")
    ids = [r["id"] for r in store.iter_records("accounts", crm="hubspot")][:3]
    for company_id, mode in zip(ids, ("Remote", "hybrid", "onsite"), strict=True):
        hub.crm.companies.basic_api.update(company_id, {"properties": {"visit_mode": mode}})
    rules_file = folder / "territory.yaml"
    config = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    config.setdefault("coverage", {})["visit_mode_field"] = "visit_mode"
    rules_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    before = build_store_instance(store, "hubspot", rules.load_rules(rules_file))
    assert any("run `territory sync --full`" in note for note in before.notes)  # named, not yet synced
    assert runner.invoke(app, ["sync", "--no-check"]).exit_code in (0, 4)
    stored = {r["id"]: r["visit_mode"] for r in store.iter_records("accounts", crm="hubspot")}
    assert [stored[i] for i in ids] == ["Remote", "hybrid", "onsite"]
    built = build_store_instance(store, "hubspot", rules.load_rules(rules_file))
    modes = {a.id: a.visit_mode for a in built.instance.accounts}
    assert [modes[i] for i in ids] == ["remote", "hybrid", "field"]
    assert any("1 accounts have a visit mode other than field, remote, hybrid" in n and "'onsite' (1)" in n
               for n in built.notes)


def test_check_dry_run_lists_account_conflict_and_task_holder_when_previewed(synced: Any) -> None:
    emu, _ = synced
    data = json.loads(runner.invoke(app, ["check", "--dry-run", "--json"]).stdout)
    flags = data["flags"]
    assert flags and data["would_flag"] == len(flags)
    table = runner.invoke(app, ["check", "--dry-run", "--limit", "0"], env={"COLUMNS": "400"})
    assert table.exit_code == 6
    for flag in flags:
        assert f"{flag['account_name']} [{flag['account_id']}]" in table.output
        if flag["assignee_id"]:
            assert f"{flag['assignee_name']} [{flag['assignee_id']}]" in table.output
    assert any(flag["assignee_name"] for flag in flags)
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["check", "--dry-run", "--format", "csv"]).stdout)))
    assert [(r["account_id"], r["status"], r["assignee_name"]) for r in rows] == [
        (f["account_id"], f["status"], f["assignee_name"]) for f in flags]
    assert not emu.control.records("tasks")


def test_check_writes_nothing_and_exits_4_when_over_max_flags_until_yes(synced: Any) -> None:
    emu, _ = synced
    would = json.loads(runner.invoke(app, ["check", "--dry-run", "--json"]).stdout)["would_flag"]
    capped = runner.invoke(app, ["check", "--max-flags", str(would - 1)])
    assert capped.exit_code == 4
    assert f"would create {would} conflict tasks" in capped.output and "check --dry-run" in capped.output
    assert not emu.control.records("tasks")
    assert runner.invoke(app, ["check", "--max-flags", str(would - 1), "--yes"]).exit_code == 6
    assert len(emu.control.records("tasks")) == would


def test_sync_inbound_check_writes_nothing_when_over_the_configured_cap(
    synced: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu, _ = synced
    emu.control.mutate(fraction=0.05, seed=3)
    monkeypatch.setenv("TERRITORY_MAX_FLAGS", "1")
    result = runner.invoke(app, ["sync", "--json"])
    inbound = json.loads(result.stdout)["inbound_check"]
    assert result.exit_code == 4 and inbound["capped"] and inbound["would_flag"] > 1
    assert inbound["flagged"] == 0 and not emu.control.records("tasks")


def test_validate_and_explain_write_json_to_stdout_when_given_dash(synced: Any) -> None:
    _, folder = synced
    store = open_store(f"sqlite:///{folder / 'store.db'}")
    owners = {a["owner_id"] for a in store.iter_records("accounts", crm="hubspot")}
    idle = next(r["id"] for r in store.iter_records("owners", crm="hubspot") if r["is_active"] and r["id"] not in owners)
    path = folder / "territory.yaml"
    document = yaml.safe_load(path.read_text())
    document["territories"].append({"id": "IDLE", "owner": idle, "match": {"country": ["DE"], "postal_code": [*"0123456789", "99999"]}})
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    validated = runner.invoke(app, ["rules", "validate", "--json", "-"])
    assert validated.exit_code == 0, validated.output
    outcome = json.loads(validated.stdout)
    assert outcome["valid"] and outcome["book_checked"]
    messages = [w["message"] for w in outcome["warnings"]]
    assert "territory IDLE: postal_code entry '99999' matches no account of the book" in messages
    assert any(m.startswith(f"territory IDLE: its owner {idle} owns none of the") for m in messages)
    account = next(iter(store.iter_records("accounts", crm="hubspot")))
    explained = json.loads(runner.invoke(app, ["explain", account["id"], "--json", "-"]).stdout)
    assert explained["account_id"] == account["id"] and explained["current_owner_id"] == account["owner_id"]
    assert explained["status"] and explained["lines"][0].startswith(f"account {account['id']}")


def test_check_exits_0_only_when_no_conflict_is_open_in_its_scope(synced: Any) -> None:
    _, folder = synced
    store = open_store(f"sqlite:///{folder / 'store.db'}")
    accounts = list(store.iter_records("accounts", crm="hubspot"))
    domains = Counter(a["domain"] for a in accounts if a["domain"])
    flagged = {f["account_id"] for f in json.loads(runner.invoke(app, ["check", "--dry-run", "--json"]).stdout)["flags"]}
    clean = next(a["id"] for a in accounts if a["id"] not in flagged and a["domain"] and domains[a["domain"]] == 1)
    conflicted = next(iter(flagged))
    assert runner.invoke(app, ["check", "--dry-run", "--account", clean]).exit_code == 0
    assert runner.invoke(app, ["check", "--account", clean]).exit_code == 0
    assert runner.invoke(app, ["check", "--dry-run", "--account", conflicted]).exit_code == 6
