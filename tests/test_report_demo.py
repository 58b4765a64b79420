"""`territory report` after `territory demo`: the demo writes one and says where; a report on the
demo's store shows the published scenario with the managers' decisions."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from territory.cli.main import app

runner = CliRunner()


def test_report_shows_the_demo_scenario_decisions_when_run_after_the_demo(tmp_path: Path) -> None:
    demo = runner.invoke(app, ["demo", "--crm", "hubspot", "--accounts", "200", "--dir", str(tmp_path),
                               "--time-limit", "3"], env={})
    assert demo.exit_code == 0, demo.output
    folder = tmp_path / "hubspot"
    printed = " ".join(demo.output.split())
    assert f"Territory health report: {folder / 'report.html'}" in printed
    demo_page = (folder / "report.html").read_text(encoding="utf-8")
    assert "Territory health — " in demo_page
    assert re.search(r"Applied: <b>\d", demo_page)  # the demo's own page carries its scenario
    assert "https://app.hubspot.com/contacts/" in demo_page  # conflicts link to the emulated portal

    env = {"TERRITORY_CRM": "hubspot", "TERRITORY_DB_URL": f"sqlite:///{folder / 'demo.db'}",
           "TERRITORY_RULES": str(folder / "territory.yaml")}
    result = runner.invoke(app, ["report", "--scenario", "demo", "--out", str(tmp_path / "after.html"),
                                 "--json", str(tmp_path / "after.json")], env=env)
    assert result.exit_code == 0, result.output
    scenario = json.loads((tmp_path / "after.json").read_text(encoding="utf-8"))["scenario"]
    states = scenario["proposals"]["by_state"]
    assert scenario["proposals"]["published"] and states.get("Applied", 0) > 0 and states.get("Rejected", 0) >= 1
    assert sum(states.values()) == scenario["moves"]
    moved = sum(abs(r["accounts_after"] - r["accounts_before"]) for r in scenario["reps"])
    assert moved > 0  # the scenario is applied, yet before/after still shows what it changed
    assert re.search(r"Applied: <b>\d", (tmp_path / "after.html").read_text(encoding="utf-8"))
