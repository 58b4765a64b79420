"""Planning on the whole market and pushing placed prospects into the CRM (emulator, both CRMs).

`territory plan --include-prospects` places whitespace prospects as unowned accounts, stored
apart from the CRM moves; `territory market push` creates them as accounts/companies owned by
their planned rep, exactly once, with an audit note naming the source.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.market_support import run, synced_store

NEW_COMPANIES = ("Quellwerk Pumpen GmbH", "Zeitraum Kältetechnik AG", "Nordlicht Fördertechnik KG",
                 "Ostwind Hydraulik UG (haftungsbeschränkt)")
COLUMNS = ["Company", "Website", "Postal Code", "City", "Country", "Industry", "Employees", "Annual Revenue"]


def payload(output: str) -> Any:
    return json.JSONDecoder().raw_decode(output[output.index("{"):])[0]


@pytest.fixture(params=["hubspot", "salesforce"])
def market(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           capsys: pytest.CaptureFixture[str]) -> Iterator[dict[str, Any]]:
    """A synced store with rules and an imported list: two known companies, four new ones."""
    with synced_store(request.param, tmp_path, monkeypatch, accounts=120, seed=41) as found:
        store = found["store"]
        known = [r for r in store.iter_records("accounts", crm=request.param) if r["domain"] and r["postal_code"]][:2]
        rows = [[k["name"], f"https://www.{k['domain']}/", k["postal_code"], k["city"], k["country"], "", "50", ""]
                for k in known]
        rows += [[name, f"{name.split()[0].lower()}-example.de", known[i % 2]["postal_code"], known[i % 2]["city"],
                  "DE", "Machinery", str(40 + 30 * i), f"{(i + 1) * 2_500_000}"] for i, name in enumerate(NEW_COMPANIES)]
        with (tmp_path / "list.csv").open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([COLUMNS, *rows])
        code, output = run(["market", "import", str(tmp_path / "list.csv"), "--source", "fair"], capsys)
        assert code == 0, output
        yield found


def _plan(scenario: str, capsys: pytest.CaptureFixture[str], folder: Path) -> dict[str, Any]:
    metrics_path = folder / f"{scenario}.json"
    code, output = run(["plan", "--include-prospects", "--source", "fair", "--scenario", scenario,
                        "--time-limit", "20", "--json", str(metrics_path)], capsys)
    assert code in (0, 4), output
    return dict(json.loads(metrics_path.read_text(encoding="utf-8")))


def _synced_accounts_named(market: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Counter[str]:
    assert run(["sync"], capsys)[0] in (0, 4)
    return Counter(r["name"] for r in market["store"].iter_records("accounts", crm=market["crm"])
                   if r["name"] in NEW_COMPANIES)


def test_plan_places_whitespace_prospects_apart_from_crm_moves_when_including_prospects(
        market: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    metrics = _plan("whole-market", capsys, market["dir"])
    store = market["store"]
    _, moves = store.scenarios.get("whole-market")
    placements = store.scenarios.placements("whole-market")
    assert sorted(p.name for p in placements) == sorted(NEW_COMPANIES)
    assert not any(m.account_id.startswith("prospect:") for m in moves)
    assert metrics["moves"] == len(moves) and metrics["prospects_placed"] == len(NEW_COMPANIES)
    active = {r["id"] for r in store.iter_records("owners", crm=market["crm"]) if r["is_active"]}
    assert all(p.to_owner_id in active and p.potential > 0 and p.workload > 0 for p in placements)
    code, output = run(["plan", "--include-prospects", "--source", "trade-fair", "--scenario", "x"], capsys)
    assert code == 2 and "no market source 'trade-fair' (imported: fair)" in output


def test_push_creates_each_placed_prospect_once_owned_by_its_planned_rep_when_run_twice(
        market: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    _plan("s1", capsys, market["dir"])
    code, output = run(["market", "push", "--scenario", "s1", "--dry-run", "--json"], capsys)
    assert code == 0, output
    preview = payload(output)
    assert preview["to_create"] == len(NEW_COMPANIES) and preview["created"] == 0
    assert _synced_accounts_named(market, capsys) == Counter()
    code, output = run(["market", "push", "--scenario", "s1", "--json"], capsys)
    assert code == 0, output
    first = payload(output)
    assert first["created"] == len(NEW_COMPANIES) and first["audit_notes"] == len(NEW_COMPANIES)
    code, output = run(["market", "push", "--scenario", "s1", "--json"], capsys)
    assert code == 0 and payload(output)["created"] == 0 and payload(output)["already_created"] == len(NEW_COMPANIES)
    assert _synced_accounts_named(market, capsys) == Counter({name: 1 for name in NEW_COMPANIES})
    planned = {p.name: p.to_owner_id for p in market["store"].scenarios.placements("s1")}
    owners = {r["name"]: r["owner_id"] for r in market["store"].iter_records("accounts", crm=market["crm"])}
    assert all(owners[name] == planned[name] for name in NEW_COMPANIES)
    notes = [a for a in market["emu"].state.activities.values() if "Created from market source 'fair'" in a.subject
             or "Created from market source 'fair'" in a.body]
    assert len(notes) == len(NEW_COMPANIES)


def test_push_creates_no_duplicate_account_when_the_crm_answer_is_lost(
        market: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    _plan("lossy", capsys, market["dir"])
    server = market["emu"].server
    market["emu"].control.set_faults(script=["lost_response"])  # the create is applied, its answer never arrives
    calls_before = len(server.request_log)
    code, output = run(["market", "push", "--scenario", "lossy", "--json"], capsys)
    assert code == 0, output
    method, path = server.request_log[calls_before]
    assert method == "POST" and path.endswith(("/composite/sobjects", "/companies/batch/create"))
    assert server.faults.injected.get("lost_response") == 1
    assert payload(output)["created"] == len(NEW_COMPANIES)
    code, output = run(["market", "import", str(market["dir"] / "list.csv"), "--source", "fair"], capsys)
    assert code == 0, output  # re-imported before the next sync: the created ones are no whitespace
    from territory.sync.market import MarketStore

    linked = {p["name"]: p["account_id"] for p in MarketStore(market["store"]).prospects("fair")}
    assert all(linked[name] for name in NEW_COMPANIES)
    assert _synced_accounts_named(market, capsys) == Counter({name: 1 for name in NEW_COMPANIES})


def test_push_finds_the_created_account_by_its_marker_when_a_crash_left_it_unrecorded(
        market: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    from territory.config import load_settings
    from territory.connector.factory import build_connector
    from territory.sync import proposal_tasks as outbox
    from territory.sync.market_push import MARKET_ACCOUNT, plan_push

    _plan("crashy", capsys, market["dir"])
    store = market["store"]
    first = next(i for i in plan_push(store, market["crm"], "crashy") if i.request is not None)
    assert first.request is not None
    outbox.enqueue(store, MARKET_ACCOUNT, [(first.request.key, {"name": first.name})])
    outbox.count_attempt(store, [row["id"] for row in outbox.pending(store, MARKET_ACCOUNT)])
    assert build_connector(load_settings()).create_accounts([first.request])[0].ok  # then the process dies
    code, output = run(["market", "push", "--scenario", "crashy", "--json"], capsys)
    assert code == 0, output
    assert _synced_accounts_named(market, capsys) == Counter({name: 1 for name in NEW_COMPANIES})


def test_push_writes_nothing_when_over_the_cap_unknown_or_the_store_is_busy(
        market: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORY_LEASE_WAIT_S", "0.3")  # the busy store answers after a short wait
    _plan("big", capsys, market["dir"])
    code, output = run(["market", "push", "--scenario", "big", "--max", "2"], capsys)
    assert code == 2 and "--max 4" in output
    code, output = run(["market", "push", "--scenario", "unknown"], capsys)
    assert code == 2 and "no scenario 'unknown'" in output
    assert market["store"].leases.acquire("store", "agent-on-host-b:77", 600)
    code, output = run(["market", "push", "--scenario", "big", "--yes"], capsys)
    assert code == 5 and "agent-on-host-b:77" in output
    market["store"].leases.release("store", "agent-on-host-b:77")  # sync takes the store lease too
    assert _synced_accounts_named(market, capsys) == Counter()


def test_push_skips_a_placed_prospect_when_it_matches_a_crm_account_by_now(
        market: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    _plan("late", capsys, market["dir"])
    placed = market["store"].scenarios.placements("late")[0]
    existing = next(iter(market["store"].iter_records("accounts", crm=market["crm"])))["id"]
    code, output = run(["market", "confirm", placed.prospect_key, existing], capsys)  # someone entered it meanwhile
    assert code == 0, output
    code, output = run(["market", "push", "--scenario", "late", "--json"], capsys)
    assert code == 0, output
    result = payload(output)
    assert result["created"] == len(NEW_COMPANIES) - 1
    assert result["skipped"] == [{"prospect_key": placed.prospect_key, "name": placed.name,
                                  "reason": f"now matches CRM account {existing}"}]
    assert _synced_accounts_named(market, capsys)[placed.name] == 0
