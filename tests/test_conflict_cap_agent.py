"""The agent's inbound check keeps the cap on conflict tasks (TERRITORY_MAX_FLAGS)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territory.cli.main import app
from territory.emulator import start_emulator
from territory.sync import open_store
from territory.sync.draft_rules import draft_rules_yaml

runner = CliRunner()


def test_agent_cycle_writes_no_task_when_inbound_conflicts_exceed_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    with start_emulator(accounts=200, seed=9, malformed=False) as emu:
        for key, value in emu.env("salesforce").items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("TERRITORY_DB_URL", f"sqlite:///{tmp_path / 'agent.db'}")
        assert runner.invoke(app, ["agent", "run", "--once"]).exit_code == 0
        store = open_store(f"sqlite:///{tmp_path / 'agent.db'}")
        (tmp_path / "territory.yaml").write_text(draft_rules_yaml(store, "salesforce"), encoding="utf-8")
        emu.control.mutate(fraction=0.3, seed=4)
        monkeypatch.setenv("TERRITORY_MAX_FLAGS", "1")
        result = runner.invoke(app, ["agent", "run", "--once", "--json"])
        line = next(json.loads(text) for text in result.output.splitlines() if text.startswith("{"))
        inbound = line["result"]["inbound_check"]
        assert inbound["capped"] and inbound["would_flag"] > 1 and inbound["max_flags"] == 1
        assert inbound["flagged"] == 0 and not emu.control.records("tasks")
