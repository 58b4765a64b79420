"""End to end: the real Salesforce and HubSpot clients against the emulator, into the store.

``territory sync`` + ``territory export accounts --format csv`` must reproduce every emulator
account exactly once (malformed ones stored with the bad field empty and a warning), also
with faults; unreadable records an interrupted run met are still reported by the next one;
incremental runs pick up edits and deletes; a sync killed with SIGKILL resumes without gap
or duplicate.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from territory.cli.main import app
from territory.config import Settings, load_settings
from territory.connector.errors import RetriableCrmError
from territory.connector.factory import build_connector
from territory.connector.hubspot.activity_read import TEXT_PROPERTIES
from territory.connector.salesforce.activity_read import ACTIVITY_OBJECTS
from territory.emulator import RunningEmulator, start_emulator
from territory.sync import Store, open_store, run_sync

ROOT = Path(__file__).resolve().parent.parent
CRMS = ["salesforce", "hubspot"]
FAULT_KINDS = ("rate_limit", "server_error", "expired_session", "drop_connection")
runner = CliRunner()


def id_key(crm: str) -> str:
    return "sf_id" if crm == "salesforce" else "hs_id"


def emulator_accounts(emu: RunningEmulator, crm: str) -> dict[str, dict[str, Any]]:
    """Live emulator accounts by the id the CRM's API shows."""
    return {r[id_key(crm)]: r for r in emu.control.records("accounts", include_deleted=False)}


def malformed_ids(emu: RunningEmulator, crm: str) -> set[str]:
    return {i for i, r in emulator_accounts(emu, crm).items() if r.get("malformed")}


def client_env(emu: RunningEmulator, crm: str, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in emu.env(crm).items() if k != "TERRITORY_EMULATOR_URL"}
    return {**env, "TERRITORY_DB_URL": db_url}


def settings_for(emu: RunningEmulator, crm: str, db_url: str) -> Settings:
    env = client_env(emu, crm, db_url)
    return load_settings(env_file=None, **{k.lower(): v for k, v in env.items()})


def stored_names(store: Store) -> dict[str, str]:
    return {r["id"]: r["name"] for r in store.iter_records("accounts")}


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    with start_emulator(accounts=600, seed=7) as running:
        yield running


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Point the CLI's settings at an emulator (call it with the emulator and CRM)."""
    monkeypatch.chdir(tmp_path)

    def configure(emu: RunningEmulator, crm: str) -> str:
        url = f"sqlite:///{tmp_path / f'{crm}.db'}"
        for key, value in client_env(emu, crm, url).items():
            monkeypatch.setenv(key, value)
        return url

    return configure


def export_account_ids() -> list[str]:
    result = runner.invoke(app, ["export", "accounts", "--format", "csv"])
    assert result.exit_code == 0, result.output
    return [row[0] for row in list(csv.reader(io.StringIO(result.stdout)))[1:]]


@pytest.mark.parametrize("crm", CRMS)
@pytest.mark.parametrize("fault_rate", [0.0, 0.1])
def test_export_reproduces_every_account_once_when_synced_through_cli(
    crm: str, fault_rate: float, cli_env: Any
) -> None:
    with start_emulator(accounts=600, seed=7, fault_rate=fault_rate) as emu:
        if fault_rate:
            # a small sync makes few calls: make sure each fault kind shows up at least once
            emu.control.set_faults(script=list(FAULT_KINDS))
        cli_env(emu, crm)
        result = runner.invoke(app, ["sync", "--json"])
        bad = malformed_ids(emu, crm)
        assert result.exit_code == 0, result.output  # a bad optional field is a warning
        exported = export_account_ids()
        injected = emu.control.faults()["injected"]
        expected = set(emulator_accounts(emu, crm))
    assert len(exported) == len(set(exported)), "an account was exported twice"
    assert set(exported) == expected
    doc = json.loads(result.stdout)
    assert bad and {w["record_id"] for w in doc["field_warnings"]} == bad
    assert doc["skipped_records"] == [] and doc["unreadable_records"] == []
    if fault_rate:
        assert set(injected) == set(FAULT_KINDS), injected


@pytest.mark.parametrize("crm", CRMS)
def test_incremental_sync_applies_edits_and_deletes_when_records_change(
    crm: str, emu: RunningEmulator, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'inc.db'}"
    settings = settings_for(emu, crm, url)
    store = open_store(url)
    first = run_sync(build_connector(settings), store)
    assert first.kinds["accounts"].fetched == 600
    live = sorted(emulator_accounts(emu, crm))
    emu.control.update("accounts", live[10], {"name": "Umbenannt Maschinenbau GmbH"})
    emu.control.update("accounts", live[11], {"employees": 4242})
    emu.control.delete("accounts", live[12])
    created = emu.control.create("accounts", {"name": "Neugründung AG", "city": "Leipzig"})
    second = run_sync(build_connector(settings), store)
    accounts = second.kinds["accounts"]
    assert (accounts.updated, accounts.deleted, accounts.inserted) == (2, 1, 1)
    assert second.changed_account_ids == {live[10], live[11], created[id_key(crm)]}
    names = stored_names(store)
    assert names[live[10]] == "Umbenannt Maschinenbau GmbH" and live[12] not in names
    assert set(names) == set(emulator_accounts(emu, crm))
    third = run_sync(build_connector(settings), store)
    assert (third.total("inserted"), third.total("updated"), third.total("deleted")) == (0, 0, 0)
    activity_types = len(ACTIVITY_OBJECTS if crm == "salesforce" else TEXT_PROPERTIES)
    # at most 2 calls per object when nothing changed, plus one per activity type (report counts)
    assert third.api_calls <= 6 + activity_types


CHILD = "import sys\nsys.argv = ['territory', 'sync']\nfrom territory.cli.main import main\nmain()\n"


def _kill_once_accounts_arrive(env: dict[str, str], db_path: Path) -> int:
    """Start ``territory sync`` in a child, SIGKILL it once some accounts are committed."""
    child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, env={**os.environ, **env},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import sqlite3

    deadline, committed = time.monotonic() + 60, 0
    while time.monotonic() < deadline and child.poll() is None:
        try:
            with sqlite3.connect(db_path, timeout=0.1) as conn:
                committed = conn.execute("SELECT count(*) FROM accounts").fetchone()[0]
        except sqlite3.Error:
            committed = 0  # not created or migrated yet
        if committed:
            break
        time.sleep(0.002)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    return committed


@pytest.mark.parametrize(("crm", "accounts"), [("salesforce", 12000), ("hubspot", 3000)])
def test_resume_has_no_gap_and_no_duplicate_when_sync_process_killed(
    crm: str, accounts: int, tmp_path: Path
) -> None:
    db_path = tmp_path / "killed.db"
    url = f"sqlite:///{db_path}"
    with start_emulator(accounts=accounts, opportunities=50, seed=3) as emu:
        committed = _kill_once_accounts_arrive(client_env(emu, crm, url), db_path)
        assert 0 < committed < accounts, "the kill did not land mid-sync"
        store = open_store(url)
        assert store.list_runs()[0]["status"] == "running"
        resumed = run_sync(build_connector(settings_for(emu, crm, url)), store)
        expected = set(emulator_accounts(emu, crm))
        assert set(stored_names(store)) == expected
        assert resumed.kinds["accounts"].inserted == len(expected) - committed
        assert resumed.kinds["accounts"].fetched < accounts  # it resumed, not restarted


@pytest.mark.parametrize("crm", CRMS)
def test_malformed_account_is_stored_with_employees_empty_when_the_crm_sends_n_a(
    crm: str, emu: RunningEmulator, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'warn.db'}")
    summary = run_sync(build_connector(settings_for(emu, crm, f"sqlite:///{tmp_path / 'warn.db'}")), store)
    bad = malformed_ids(emu, crm)
    stored = {r["id"]: r for r in store.iter_records("accounts")}
    assert bad and all(stored[i]["employees"] is None and stored[i]["name"] for i in bad)
    assert {w.record_id for w in summary.warnings} == bad and summary.skipped == []
    assert summary.status == "ok" and not summary.is_partial


def test_next_sync_still_lists_unreadable_records_when_the_run_that_met_them_was_interrupted(
    emu: RunningEmulator, cli_env: Any, tmp_path: Path
) -> None:
    url = cli_env(emu, "salesforce")
    first_id = min(emulator_accounts(emu, "salesforce").items(), key=lambda kv: kv[1]["modified_at"])[0]
    emu.control.update("accounts", first_id, {"name": ""})  # no usable name: skipped whole

    def crm_goes_down(kind: str, counts: Any) -> None:
        if kind == "accounts":  # after the first accounts page is committed
            raise RetriableCrmError("connection refused", crm="salesforce")

    store = open_store(url)
    with pytest.raises(RetriableCrmError):
        run_sync(build_connector(load_settings()), store, progress=crm_goes_down)
    interrupted = store.list_runs(limit=1)[0]
    assert interrupted["status"] == "failed"
    resumed = runner.invoke(app, ["sync", "--json", "--no-check"])
    doc = json.loads(resumed.stdout)
    assert resumed.exit_code == 4  # listed for the first time
    assert [s["record_id"] for s in doc["skipped_records"]] == [first_id]
    assert [(u["record_id"], u["run_id"]) for u in doc["unreadable_records"]] == [(first_id, interrupted["id"])]
    again = json.loads(runner.invoke(app, ["sync", "--json", "--no-check"]).stdout)
    assert again["skipped_records"] == [] and [u["record_id"] for u in again["unreadable_records"]] == [first_id]
    emu.control.update("accounts", first_id, {"name": "Repariert GmbH"})
    fixed = json.loads(runner.invoke(app, ["sync", "--json", "--no-check"]).stdout)
    assert fixed["unreadable_records"] == [] and stored_names(store)[first_id] == "Repariert GmbH"
