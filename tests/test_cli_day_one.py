"""What a new admin hits on day one, with the real clients against the emulator: progress of a
Salesforce sync (also while retrying), `export | head`, full ids from `scenarios show`."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territory.cli.errors import run_with_exit_codes
from territory.cli.main import app
from territory.emulator import RunningEmulator, start_emulator

runner = CliRunner()
TERRITORY = str(Path(sys.executable).with_name("territory"))


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with start_emulator(accounts=6000, opportunities=100, seed=11) as emu:
        yield emu


@pytest.fixture
def settings_env(emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point the CLI at the emulator and a fresh store; returns the environment for children."""
    monkeypatch.chdir(tmp_path)

    def configure(crm: str) -> dict[str, str]:
        env = {**emulator.env(crm), "TERRITORY_DB_URL": f"sqlite:///{tmp_path / 'store.db'}",
               "TERRITORY_RULES": str(tmp_path / "territory.yaml")}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return {**os.environ, **env}

    return configure


def test_salesforce_sync_prints_progress_and_retries_when_not_on_a_terminal(
    emulator: RunningEmulator, settings_env
) -> None:
    settings_env("salesforce")
    emulator.control.set_faults(script=["rate_limit"])
    try:
        result = runner.invoke(app, ["sync", "--no-check"])
    finally:
        emulator.control.set_faults(rate=0.0, script=[])
    assert result.exit_code == 0, result.output
    assert "accounts: 4000 fetched in 2 pages" in result.stderr  # 2000-record pages
    assert "retrying in 1 s" in result.stderr


def test_export_exits_0_quietly_when_the_reader_closes_the_pipe(settings_env) -> None:
    env = settings_env("hubspot")
    assert subprocess.run([TERRITORY, "sync", "--no-check"], env=env, capture_output=True).returncode == 0
    shell = f"'{TERRITORY}' export accounts --format csv | head -2; exit ${{PIPESTATUS[0]}}"
    done = subprocess.run(["bash", "-c", shell], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    assert "Traceback" not in done.stderr and "Broken pipe" not in done.stderr


def test_scenarios_show_prints_full_ids_as_table_and_csv_when_piped(settings_env, tmp_path: Path) -> None:
    from territory.sync import open_store
    from territory.sync.scenarios import MoveInput

    settings_env("salesforce")
    long_ids = ("001000000000016AAA", "005000000000009AAA", "005000000000012AAA")
    store = open_store(os.environ["TERRITORY_DB_URL"])
    store.scenarios.save("q1", {}, {}, [MoveInput(*long_ids, "balance potential")])
    store.close()
    table = runner.invoke(app, ["scenarios", "show", "q1"])
    assert table.exit_code == 0, table.output
    assert all(i in table.stdout for i in long_ids) and "…" not in table.stdout
    as_csv = runner.invoke(app, ["scenarios", "show", "q1", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert rows == [{"account_id": long_ids[0], "from_owner_id": long_ids[1], "to_owner_id": long_ids[2],
                     "status": "proposed", "reason": "balance potential"}]


def test_doctor_prints_a_failure_once_when_a_wrong_token_fails_every_check(
    settings_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings_env("salesforce")
    monkeypatch.setenv("SF_ACCESS_TOKEN", "not-a-token")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 3, result.output
    assert result.stdout.count("Salesforce rejected SF_ACCESS_TOKEN") == 1
    assert "[salesforce 401 INVALID_SESSION_ID]" in result.stdout  # the CRM's text is not eaten as markup
    failures = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failures) > 1 and all("same failure as query User" in line for line in failures[1:])


def test_demo_refuses_to_overwrite_a_territory_yaml_someone_edited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = tmp_path / "demo" / "salesforce" / "territory.yaml"
    edited.parent.mkdir(parents=True)
    edited.write_text("version: 1\nterritories: []  # my own rules\n", encoding="utf-8")
    code = run_with_exit_codes(app, ["demo", "--crm", "salesforce", "--accounts", "50",
                                     "--dir", str(tmp_path / "demo")])
    assert code == 2
    assert "was edited or not written by `territory demo`" in " ".join(capsys.readouterr().err.split())
    assert edited.read_text(encoding="utf-8") == "version: 1\nterritories: []  # my own rules\n"
    assert not (edited.parent / "demo.db").exists()


def test_json_dash_writes_only_the_document_to_stdout_when_evaluating_and_planning(tmp_path: Path) -> None:
    import json

    from territory.planner.csv_io import write_instance
    from territory.planner.generate import generate_instance

    accounts, reps = tmp_path / "accounts.csv", tmp_path / "reps.csv"
    write_instance(generate_instance(200, 5, seed=3), accounts, reps)
    example = Path(__file__).resolve().parents[1] / "config" / "territory.example.yaml"
    evaluated = runner.invoke(app, ["rules", "evaluate", "--rules", str(example), "--accounts", str(accounts),
                                    "--out", str(tmp_path / "decisions.csv"), "--json", "-"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["accounts"] == 200 and not (tmp_path / "-").exists()
    planned = runner.invoke(app, ["plan", "--accounts", str(accounts), "--reps", str(reps), "--out",
                                  str(tmp_path / "plan.csv"), "--solver", "greedy", "--json", "-"])
    assert planned.exit_code in (0, 4), planned.output
    assert "moves" in json.loads(planned.stdout) and "Planning 200 accounts" in planned.stderr


@pytest.mark.parametrize(("command", "columns"), [
    (["rules", "evaluate"], "id,name,owner_id,country,postal_code,industry,employees,annual_revenue,domain,"
                            "sourcing_rep_id,partner_id"),
    (["rules", "evaluate"], "account_id,current_owner_id,expected_owner_id,territory_ids,status,reason"),
    (["export"], "id,name,owner_id,domain,country,postal_code,city,lat,lon,industry,employees,annual_revenue,"
                 "parent_id,modified_at,crm"),
])
def test_help_shows_the_full_column_list_when_printed_narrow(command: list[str], columns: str) -> None:
    result = runner.invoke(app, [*command, "--help"], terminal_width=80)
    assert result.exit_code == 0
    assert columns in "".join(result.stdout.split()).replace("columns:", "")
    assert "…" not in result.stdout


def test_sandbox_decide_refuses_an_account_name_two_accounts_share(
    settings_env, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlmodel import Session

    from territory.sync import open_store
    from territory.sync.tables import ProposalRow, utc_now

    settings_env("salesforce")
    store = open_store(os.environ["TERRITORY_DB_URL"])
    with Session(store.engine) as session:
        for n, account_id in enumerate(("001000000000017AAA", "001000000000991AAA")):
            session.add(ProposalRow(crm="salesforce", key=f"tp-{n}", scenario="q1", account_id=account_id,
                                    account_name="Siemens AG", crm_record_id=f"aKS00000000000{n}AAA",
                                    approver_id="005000000000010AAA", published_at=utc_now(), updated_at=utc_now()))
        session.commit()
    store.close()
    code = run_with_exit_codes(app, ["sandbox", "decide", "Siemens AG", "--as", "Jonas Böhm"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "2 accounts named 'Siemens AG'" in err and "001000000000991AAA" in err and "account id" in err
