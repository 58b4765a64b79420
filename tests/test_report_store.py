"""`territory report` against the emulator for both CRMs, through the CLI as a user runs it.

sync -> rules draft -> plan (a saved scenario) -> report --scenario --json, with closed deals
created in the CRM and a quota overlay. Every figure is checked against an independent
source: the export's rows, the planner's instance, the CRM's own records, the rule check.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import closing
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from territory.cli.main import app
from territory.emulator import RunningEmulator, start_emulator
from territory.rules import health

CRMS = ["salesforce", "hubspot"]
PORTAL = "4711"
runner = CliRunner()


def territory(env: dict[str, str], *args: str, ok: tuple[int, ...] = (0, 4)) -> str:
    """Run one CLI command with ``env``; its output (fails the test on an exit code not in ``ok``)."""
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code in ok, f"{args}: {result.output}\n{result.exception!r}"
    return result.output


def crm_id(record: dict[str, Any], crm: str, ref: str = "") -> str | None:
    key = f"{ref}_{'sf' if crm == 'salesforce' else 'hs'}_id" if ref else ("sf_id" if crm == "salesforce" else "hs_id")
    return record.get(key)


def add_closed_deals(emu: RunningEmulator, count: int) -> list[dict[str, Any]]:
    """``count`` closed opportunities (every third lost) on the first accounts, 0-40 days long."""
    accounts = [a for a in emu.control.records("accounts", include_deleted=False) if a["owner_n"]][:count]
    deals = []
    for k, account in enumerate(accounts):
        created = emu.control.create("opportunity", {
            "name": f"Closed {k}", "account_n": account["n"], "owner_n": account["owner_n"], "amount": 1000.0 * (k + 1),
            "stage": "Closed Lost" if k % 3 == 0 else "Closed Won",
            "close_date": "2000-01-01",
        })
        opened = datetime.fromisoformat(created["created_at"].replace("Z", "+00:00")).date()
        closed = opened + timedelta(days=k % 41)
        deals.append(emu.control.update("opportunity", created["n"], {"close_date": closed.isoformat()}) | {
            "employees": account["employees"], "opened": opened})
    return deals


def write_prospects(path: Path, count: int = 60) -> Path:
    """A purchased list of companies the CRM does not hold, across German postal areas."""
    lines = ["name,postal_code,city,country,industry,employees,revenue"]
    lines += [f"Neufirma {k} Anlagenbau GmbH,{(k * 1637) % 90000 + 10000},Ort {k},DE,Manufacturing,"
              f"{40 + 37 * k},{2_000_000 + 450_000 * k}" for k in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build_report(crm: str, folder: Path) -> Iterator[dict[str, Any]]:
    """Seed the emulator, run the CLI through a saved scenario and the report; yield what it wrote."""
    with start_emulator(accounts=320, seed=23) as emu:
        deals = add_closed_deals(emu, 30)
        env = {k: v for k, v in emu.env(crm).items() if k != "TERRITORY_EMULATOR_URL"}
        env |= {"TERRITORY_CRM": crm, "TERRITORY_DB_URL": f"sqlite:///{folder / 'store.db'}",
                "TERRITORY_RULES": str(folder / "territory.yaml"), "HUBSPOT_PORTAL_ID": PORTAL}
        quarter = health.Quarter.of(max(date.fromisoformat(d["close_date"]) for d in deals))
        territory(env, "sync")
        territory(env, "rules", "draft", "--out", str(folder / "territory.yaml"))
        territory(env, "market", "import", str(write_prospects(folder / "prospects.csv")), "--source", "list")
        territory(env, "plan", "--scenario", "s1", "--time-limit", "5", "--out", str(folder / "plan.csv"))
        owners = [o for o in emu.control.records("owners", include_deleted=False) if o["is_active"]]
        quotas = {crm_id(o, crm): 10_000.0 * (i + 1) for i, o in enumerate(owners)}
        overlay = folder / "quota.csv"
        overlay.write_text("id,quota\n" + "".join(f"{k},{v}\n" for k, v in quotas.items()), encoding="utf-8")
        printed = territory(env, "report", "--scenario", "s1", "--quarter", quarter.label, "--reps", str(overlay),
                            "--out", str(folder / "report.html"), "--json", str(folder / "report.json"))
        territory(env, "export", "accounts", "--out", str(folder / "accounts.csv"))
        yield {
            "crm": crm, "env": env, "folder": folder, "deals": deals, "quarter": quarter, "quotas": quotas,
            "printed": printed, "figures": json.loads((folder / "report.json").read_text(encoding="utf-8")),
            "html": (folder / "report.html").read_text(encoding="utf-8"),
            "accounts": list(csv.DictReader((folder / "accounts.csv").open(encoding="utf-8"))),
            "opportunities": emu.control.records("opportunities", include_deleted=False),
            "crm_accounts": emu.control.records("accounts", include_deleted=False),
            "check": json.loads(territory(env, "check", "--dry-run", "--json", ok=(6,))),  # conflicts open
            "plan": list(csv.DictReader((folder / "plan.csv").open(encoding="utf-8"))),
            "whitespace": json.loads(territory(env, "market", "whitespace", "--json")),
        }


@pytest.fixture(scope="module", params=CRMS)
def reported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    yield from build_report(request.param, tmp_path_factory.mktemp(f"report-{request.param}"))


def test_accounts_per_rep_equal_the_export_when_reported_from_the_store(reported: dict[str, Any]) -> None:
    figures = reported["figures"]
    per_owner = Counter(row["owner_id"] for row in reported["accounts"])
    for rep in figures["reps"]:
        assert rep["accounts"] == per_owner[rep["id"]], rep["name"]
    listed = {rep["id"] for rep in figures["reps"]}
    assert figures["team"]["accounts"] == len(reported["accounts"])
    assert figures["team"]["unassigned_accounts"] == sum(n for owner, n in per_owner.items() if owner not in listed)
    assert "report.html" in reported["printed"] and figures["source"] == {
        "kind": "store", "crm": reported["crm"], "store": reported["env"]["TERRITORY_DB_URL"]}


def test_flags_follow_the_thresholds_when_reps_are_unbalanced(reported: dict[str, Any]) -> None:
    reps = reported["figures"]["reps"]
    active = [r for r in reps if r["active"]]
    mean = statistics.fmean(r["potential"] for r in active)
    assert any(r["flags"]["potential_balance"] == "bad" for r in active)
    for rep in active:
        deviation = (rep["potential"] - mean) / mean
        assert rep["potential_deviation"] == pytest.approx(deviation)
        expected = "bad" if abs(deviation) > 0.20 else "warn" if abs(deviation) > 0.05 else "ok"
        assert rep["flags"]["potential_balance"] == expected
        assert (rep["flags"]["utilisation"] == "bad") == (rep["workload"] > rep["capacity"])
        assert rep["coverable_accounts"] + rep["overload_accounts"] == rep["accounts"]
        assert (rep["flags"]["active_prospects"] == "ok") == (80 <= rep["active_prospects"] <= 120)
    for rep in reps:
        assert (rep["flags"]["inactive_owner"] == "bad") == (not rep["active"] and rep["accounts"] > 0)


def test_pipeline_coverage_is_the_crm_pipeline_over_the_quota_when_a_quota_overlay_is_given(
    reported: dict[str, Any],
) -> None:
    crm, quarter = reported["crm"], reported["quarter"]
    owner_of_account = {crm_id(a, crm): crm_id(a, crm, "owner") for a in reported["crm_accounts"]}
    pipeline: defaultdict[str, float] = defaultdict(float)
    for opp in reported["opportunities"]:
        closes = date.fromisoformat(opp["close_date"])
        if not opp["is_closed"] and quarter.start <= closes <= quarter.end:
            owner = crm_id(opp, crm, "owner") or owner_of_account.get(crm_id(opp, crm, "account"))
            pipeline[owner or ""] += opp["amount"] or 0.0
    for rep in reported["figures"]["reps"]:
        assert rep["pipeline_open"] == pytest.approx(pipeline[rep["id"]]), rep["name"]
        quota = reported["quotas"].get(rep["id"])
        assert rep["quota"] == quota
        if quota:
            assert rep["pipeline_coverage"] == pytest.approx(pipeline[rep["id"]] / quota)
            assert (rep["flags"]["pipeline_coverage"] == "bad") == (rep["pipeline_coverage"] < 3)


def test_win_rate_and_days_to_close_by_segment_match_the_deals_closed_in_the_crm(reported: dict[str, Any]) -> None:
    deals = reported["figures"]["deals"]
    assert deals["available"]
    by_segment: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for deal in reported["deals"]:
        by_segment[health.segment_of(deal["employees"])].append(deal)
    shown = {row["segment"]: row for row in deals["by_segment"]}
    assert set(shown) == set(by_segment)
    for segment, closed in by_segment.items():
        won = [d for d in closed if d["stage"] == "Closed Won"]
        days = [(date.fromisoformat(d["close_date"]) - d["opened"]).days for d in won]
        assert (shown[segment]["won"], shown[segment]["lost"]) == (len(won), len(closed) - len(won))
        assert shown[segment]["win_rate"] == pytest.approx(len(won) / len(closed))
        assert shown[segment]["median_days_to_close"] == pytest.approx(statistics.median(days))
    assert deals["team"]["won"] + deals["team"]["lost"] == len(reported["deals"])


def test_conflicts_match_the_rule_check_and_link_to_the_crm_record_when_the_host_is_set(
    reported: dict[str, Any],
) -> None:
    conflicts, check = reported["figures"]["conflicts"], reported["check"]
    assert conflicts["available"] and conflicts["total"] > 0
    assert conflicts["by_type"] == {k: v for k, v in check["conflicts"].items() if v}
    for shown in conflicts["shown"]:
        if reported["crm"] == "salesforce":
            assert shown["url"] == f"{reported['env']['SF_INSTANCE_URL']}/lightning/r/Account/{shown['account_id']}/view"
        else:
            assert shown["url"] == f"https://app.hubspot.com/contacts/{PORTAL}/company/{shown['account_id']}"
        assert f'href="{shown["url"]}"' in reported["html"]


def test_scenario_shows_the_plan_before_and_after_when_it_is_not_published(reported: dict[str, Any]) -> None:
    scenario, plan = reported["figures"]["scenario"], reported["plan"]
    moved = plan  # plan.csv lists the moves: account_id,from_owner_id,to_owner_id,reason
    assert moved and scenario["name"] == "s1" and scenario["moves"] == len(moved)
    assert sum(scenario["moves_by_reason"].values()) == len(moved)
    before = Counter(row["owner_id"] for row in reported["accounts"])
    after = before - Counter(row["from_owner_id"] for row in moved) + Counter(row["to_owner_id"] for row in moved)
    for rep in scenario["reps"]:
        assert rep["accounts_before"] == before[rep["id"]]
        assert rep["accounts_after"] == after[rep["id"]], rep["name"]
    assert scenario["balance"]["max_deviation_potential_after"] < scenario["balance"]["max_deviation_potential_before"]
    assert scenario["proposals"] == {"source": "plan_moves", "published": False, "by_state": {"proposed": len(moved)}}
    assert scenario["travel"]["km_per_visit_before"] > 0


def test_page_names_reps_with_ids_on_hover_and_says_plainly_what_has_no_data(reported: dict[str, Any]) -> None:
    html, figures = reported["html"], reported["figures"]
    for rep in figures["reps"]:
        assert f'<span title="{rep["id"]}">{rep["name"]}</span>' in html.replace("&#x27;", "'")
    activity = figures["activity"]  # the sync read the CRM's activities: nobody logged any here
    assert activity["available"] is True and activity["total"] == 0 and "0 in all" in html
    assert activity["accounts_without_activity"] == figures["team"]["accounts"]
    assert figures["summary"]["text"] in html.replace("&#x27;", "'")
    assert os.path.getsize(reported["folder"] / "report.html") < 2_000_000


def test_whitespace_matches_the_market_command_when_a_prospect_list_is_imported(reported: dict[str, Any]) -> None:
    shown, market = reported["figures"]["whitespace"], reported["whitespace"]
    assert shown["available"] and shown["untapped_potential"] > 0
    assert shown["untapped_potential"] == pytest.approx(market["untapped_potential"])
    assert shown["too_large_share"] == pytest.approx(market["too_large_share"])
    assert [(t["id"], t["prospects"], t["too_large"]) for t in shown["territories"]] == [
        (t["id"], t["prospects"], t["too_large"]) for t in market["territories"]]
    assert sum(t["prospects"] for t in shown["territories"]) == 60
    assert shown["too_large_territories"] == sum(1 for t in market["territories"] if t["too_large"])
    table = reported["html"].split('id="whitespace"', 1)[1].split("</table>", 1)[0]
    owned = next(t for t in shown["territories"] if t["owner_id"])
    assert f'<span title="{owned["owner_id"]}">{owned["owner_name"]}</span>' in table


VARIABLE_KEYS = {"conflicts.by_type", "scenario.moves_by_reason", "scenario.proposals.by_state", "scenario.options"}


def key_paths(value: Any, prefix: str = "") -> Iterator[str]:
    """Every key path of the report's JSON (``reps[].flags.utilisation``); maps keyed by data are leaves."""
    if isinstance(value, dict) and prefix not in VARIABLE_KEYS:
        for key, item in value.items():
            yield from key_paths(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for item in value:
            yield from key_paths(item, f"{prefix}[]")
    else:
        yield prefix


def documented_keys(doc: str) -> set[str]:
    """Key paths the first column of docs/report.md's key tables names (relative to their heading)."""
    keys, prefix, in_keys = set(), "", False
    for line in doc.splitlines():
        if line.startswith("## "):
            in_keys = line.strip() == "## JSON keys"
        elif line.startswith("### ") and in_keys:
            found = re.search(r"`([^`]+)`", line)
            prefix = found.group(1) if found else ""
        elif in_keys and line.startswith("| `"):
            for key in re.findall(r"`([^`]+)`", line.split("|")[1]):
                keys.add(f"{prefix}.{key}" if prefix else key)
    return keys


def test_every_json_key_is_documented_when_the_report_has_every_section(reported: dict[str, Any]) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "report.md").read_text(encoding="utf-8")
    missing = set(key_paths(reported["figures"])) - documented_keys(doc)
    assert not missing, f"keys not in docs/report.md: {sorted(missing)}"


def test_proposals_by_state_come_from_the_crm_when_the_scenario_is_published(reported: dict[str, Any]) -> None:
    folder = reported["folder"] / "published"
    folder.mkdir(exist_ok=True)
    with closing(sqlite3.connect(reported["folder"] / "store.db")) as source, \
            closing(sqlite3.connect(folder / "store.db")) as copy:
        source.backup(copy)  # a copy with the WAL's pages: the other tests keep the unpublished store
    env = {**reported["env"], "TERRITORY_DB_URL": f"sqlite:///{folder / 'store.db'}"}
    territory(env, "install")
    published = json.loads(territory(env, "propose", "--scenario", "s1", "--json"))
    territory(env, "report", "--scenario", "s1", "--quarter", reported["quarter"].label,
              "--out", str(folder / "report.html"), "--json", str(folder / "report.json"))
    scenario = json.loads((folder / "report.json").read_text(encoding="utf-8"))["scenario"]
    assert published["published"] == scenario["moves"] > 0
    assert scenario["proposals"] == {"source": "proposals", "published": True,
                                     "by_state": {"Proposed": published["published"]}}
    assert "Proposed: <b>" in (folder / "report.html").read_text(encoding="utf-8")
