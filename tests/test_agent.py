"""The background agent: APScheduler runs sync + inbound check; the lease keeps agents apart."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territory.cli.main import app
from territory.emulator import RunningEmulator, start_emulator
from territory.sync import open_store
from territory.sync.agent import JOB_ID, JOBS_TABLE
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


def cycles(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_agent_runs_scheduled_cycles_and_keeps_its_job_in_the_store(agent_env: tuple[RunningEmulator, Path]) -> None:
    emu, db = agent_env
    result = runner.invoke(app, ["agent", "run", "--interval", "1", "--max-cycles", "2", "--json"])
    assert result.exit_code == 0, result.output
    first, second = cycles(result.output)[:2]
    assert first["result"]["sync"]["kinds"]["accounts"]["inserted"] == 150
    assert second["result"]["sync"]["kinds"]["accounts"]["inserted"] == 0
    with sqlite3.connect(db) as conn:
        jobs = [row[0] for row in conn.execute(f"SELECT id FROM {JOBS_TABLE}")]
    assert jobs == [JOB_ID]


def test_agent_cycle_is_skipped_when_another_agent_holds_the_lease(agent_env: tuple[RunningEmulator, Path]) -> None:
    _, db = agent_env
    store = open_store(f"sqlite:///{db}")
    assert store.leases.acquire(SYNC_LEASE, "other-host:1", 600)
    result = runner.invoke(app, ["agent", "run", "--once", "--json"])
    assert result.exit_code == 0, result.output
    (line,) = cycles(result.output)
    assert line["result"] is None and "lease" in line["message"]
    assert store.list_runs() == []
