"""The background agent: APScheduler runs sync + inbound check; the lease keeps agents apart."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territory.cli.main import app
from territory.emulator import RunningEmulator, start_emulator
from territory.sync import open_store
from territory.sync.agent import JOB_ID, JOB_IDS, JOBS_TABLE
from territory.sync.jobs import SYNC_LEASE

runner = CliRunner()


@pytest.fixture
def agent_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RunningEmulator, Path]]:
    monkeypatch.chdir(tmp_path)
    with start_emulator(accounts=150, seed=5, malformed=False) as emu:
        for key, value in emu.env("salesforce").items():
            monkeypatch.setenv(key, value)
        db = tmp_path / "agent.db"
        monkeypatch.setenv("TERRITORY_DB_URL", f"sqlite:///{db}")
        yield emu, db


def cycles(output: str, job: str = "sync") -> list[dict]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line["job"] == job]


def test_agent_runs_its_jobs_on_schedule_and_keeps_them_in_the_store(agent_env: tuple[RunningEmulator, Path]) -> None:
    emu, db = agent_env
    result = runner.invoke(app, ["agent", "run", "--interval", "1", "--approval-interval", "1", "--max-cycles", "4",
                                 "--json"])
    assert result.exit_code == 0, result.output
    first, second = cycles(result.output)[:2]
    assert first["result"]["sync"]["kinds"]["accounts"]["inserted"] == 150
    assert second["result"]["sync"]["kinds"]["accounts"]["inserted"] == 0
    assert cycles(result.output, "approvals")[0]["outcome"] == "skipped"  # no rules file yet
    assert emu.token not in result.output  # structured logs carry no secrets
    with sqlite3.connect(db) as conn:
        jobs = sorted(row[0] for row in conn.execute(f"SELECT id FROM {JOBS_TABLE}"))
        runs = conn.execute("SELECT job, outcome FROM agent_runs WHERE outcome = 'running'").fetchall()
    assert jobs == sorted(JOB_IDS.values()) and JOB_ID in jobs
    assert runs == []


def test_a_restarted_agent_keeps_the_stored_rebalance_and_drops_it_when_switched_off(
        agent_env: tuple[RunningEmulator, Path]) -> None:
    _, db = agent_env
    args = ["agent", "run", "--interval", "1", "--approval-interval", "1", "--max-cycles", "1"]
    assert runner.invoke(app, [*args, "--rebalance-cron", "0 6 1 1,4,7,10 *"]).exit_code == 0

    def rebalance_next() -> list[float]:
        with sqlite3.connect(db) as conn:
            return [r[0] for r in conn.execute(f"SELECT next_run_time FROM {JOBS_TABLE} WHERE id = ?",
                                               (JOB_IDS["rebalance"],))]

    stored = rebalance_next()
    assert len(stored) == 1
    assert runner.invoke(app, [*args, "--rebalance-cron", "0 6 1 1,4,7,10 *"]).exit_code == 0
    assert rebalance_next() == stored  # the restart found its schedule in the store
    assert runner.invoke(app, [*args, "--rebalance-cron", "off"]).exit_code == 0
    assert rebalance_next() == []


def test_agent_refuses_a_bad_crontab_with_exit_2(agent_env: tuple[RunningEmulator, Path]) -> None:
    from territory.cli.errors import run_with_exit_codes

    assert run_with_exit_codes(app, ["agent", "run", "--once", "--rebalance-cron", "every quarter"]) == 2


def test_sigterm_lets_the_agent_finish_its_step_and_exit_cleanly(agent_env: tuple[RunningEmulator, Path]) -> None:
    _, db = agent_env
    process = subprocess.Popen([sys.executable, "-m", "territory.cli.main", "agent", "run", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        if '"job": "sync"' in line:
            break
    process.send_signal(signal.SIGTERM)
    rest, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert '"outcome": "stopped"' in rest.splitlines()[-1]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM agent_runs WHERE outcome = 'running'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM leases").fetchone() == (0,)


def test_status_shows_last_and_next_runs_proposals_and_outbox(agent_env: tuple[RunningEmulator, Path]) -> None:
    assert runner.invoke(app, ["agent", "run", "--interval", "1", "--max-cycles", "1"]).exit_code == 0
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["jobs"]["sync"]["last_run"]["outcome"] == "ok"
    assert status["jobs"]["sync"]["next_run"] and status["jobs"]["rebalance"]["scheduled"]
    assert status["outbox"]["pending"] == 0 and status["lease"] is None
    text = runner.invoke(app, ["status"])
    assert text.exit_code == 0 and "approvals" in text.output


def test_agent_cycle_is_skipped_when_another_agent_holds_the_lease(agent_env: tuple[RunningEmulator, Path]) -> None:
    _, db = agent_env
    store = open_store(f"sqlite:///{db}")
    assert store.leases.acquire(SYNC_LEASE, "other-host:1", 600)
    result = runner.invoke(app, ["agent", "run", "--once", "--json"])
    assert result.exit_code == 0, result.output
    line = cycles(result.output)[0]
    assert line["result"] is None and "lease" in line["message"] and line["outcome"] == "skipped"
    assert store.list_runs() == []


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_agent_once_applies_approved_moves_and_the_rebalance_publishes_a_new_scenario(
        crm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.approval_support import approve_all, loop_for, pick_moves, publish

    with loop_for(crm, tmp_path) as loop:
        for key, value in loop.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("TERRITORY_REBALANCE_TIME_LIMIT_S", "2")
        monkeypatch.chdir(tmp_path)
        publish(loop, "q1", pick_moves(loop, 3))
        approve_all(loop, "q1")
        result = runner.invoke(app, ["agent", "run", "--once", "--json"])
        assert result.exit_code == 0, result.output
        (approvals,) = cycles(result.output, "approvals")
        assert approvals["result"]["apply"]["applied"] == approvals["result"]["apply"]["audit_notes"] == 3
        assert loop.notes_by_account() == {r.account_id: 1 for r in loop.proposals(states=["Applied"])}
        result = runner.invoke(app, ["agent", "run", "--once", "--job", "rebalance", "--json", "--rebalance-cron",
                                     "off"])
        assert result.exit_code in (0, 4), result.output
        (rebalance,) = cycles(result.output, "rebalance")
        scenario = rebalance["result"]["scenario"]
        assert scenario.startswith("rebalance-") and loop.store.scenarios.get(scenario) is not None
        assert rebalance["result"]["published"] == len(loop.proposals(scenario=scenario)) > 0
        status = json.loads(runner.invoke(app, ["status", "--json"]).output)
        assert status["proposals"]["Applied"] == 3
        assert status["jobs"]["rebalance"]["last_run"]["outcome"] in ("ok", "partial")


@pytest.mark.postgres
def test_two_agents_on_one_postgres_store_never_run_a_job_at_the_same_time(
        agent_env: tuple[RunningEmulator, Path], postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy as sa

    monkeypatch.setenv("TERRITORY_DB_URL", postgres_url)
    agents = [subprocess.Popen([sys.executable, "-m", "territory.cli.main", "agent", "run", "--interval", "1",
                                "--approval-interval", "1", "--max-cycles", "6", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [agent.communicate(timeout=180) for agent in agents]
    assert [agent.returncode for agent in agents] == [0, 0], outputs
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT job, holder, started_at, finished_at, outcome FROM agent_runs "
                                    "WHERE outcome <> 'skipped' ORDER BY started_at")).all()
        jobs = sorted(conn.execute(sa.text(f"SELECT id FROM {JOBS_TABLE}")).scalars())
    engine.dispose()
    assert jobs == sorted(JOB_IDS.values())
    assert {run.holder for run in runs} and all(run.outcome == "ok" for run in runs)
    for earlier, later in zip(runs, runs[1:]):  # the lease: one run at a time across both agents
        assert earlier.finished_at <= later.started_at
