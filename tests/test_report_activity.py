"""Activity per account in the report: people create tasks (and notes) in the CRM through the
official clients, `territory sync` reads them incrementally, `territory report` counts the human
ones dated in the quarter, per rep and in all (not the agent's marked ones, not deleted ones)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from simple_salesforce import Salesforce
from typer.testing import CliRunner

from territory.cli.main import app
from territory.emulator import start_emulator
from territory.rules import health

runner = CliRunner()
TODAY = datetime.now(UTC).date()
LONG_AGO = TODAY - timedelta(days=200)  # always in an earlier quarter


def territory(env: dict[str, str], *args: str) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code in (0, 4), f"{args}: {result.output}\n{result.exception!r}"  # 4: a messy record skipped
    return result.output


def report(env: dict[str, str], folder: Path, name: str) -> dict[str, Any]:
    out = folder / f"{name}.json"
    territory(env, "report", "--quarter", health.Quarter.of(TODAY).label, "--out", str(folder / f"{name}.html"),
              "--json", str(out))
    return json.loads(out.read_text(encoding="utf-8"))


def salesforce_tasks(env: dict[str, str]) -> Callable[[str, date, str], str]:
    session = requests.Session()
    session.trust_env = False
    session.verify = env["TERRITORY_CA_FILE"]
    sf = Salesforce(instance_url=env["SF_INSTANCE_URL"], session_id=env["SF_ACCESS_TOKEN"], session=session)

    def create(account_id: str, day: date, subject: str) -> str:
        return str(sf.Task.create({"Subject": subject, "WhatId": account_id, "ActivityDate": day.isoformat(),
                                   "Status": "Completed"})["id"])

    create.delete = lambda task_id: sf.Task.delete(task_id)  # type: ignore[attr-defined]
    return create


def hubspot_tasks(env: dict[str, str]) -> Callable[[str, date, str], str]:
    client = HubSpot(access_token=env["HUBSPOT_ACCESS_TOKEN"], host=env["HUBSPOT_BASE_URL"])

    def create(company_id: str, day: date, subject: str) -> str:
        when = datetime(day.year, day.month, day.day, 10, tzinfo=UTC).isoformat().replace("+00:00", "Z")
        body = {"properties": {"hs_task_subject": subject, "hs_timestamp": when, "hs_task_status": "COMPLETED"},
                "associations": [{"to": {"id": company_id}, "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}]}]}
        return str(client.crm.objects.tasks.basic_api.create(body).id)

    def note(company_id: str, day: date, text: str) -> str:
        when = datetime(day.year, day.month, day.day, 10, tzinfo=UTC).isoformat().replace("+00:00", "Z")
        body = {"properties": {"hs_note_body": text, "hs_timestamp": when},
                "associations": [{"to": {"id": company_id}, "types": [
                    {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 190}]}]}
        return str(client.crm.objects.notes.basic_api.create(body).id)

    create.note = note  # type: ignore[attr-defined]
    return create


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_report_counts_human_activity_per_rep_when_users_log_tasks_in_the_crm(crm: str, tmp_path: Path) -> None:
    with start_emulator(accounts=60, seed=31) as emu:
        env = {k: v for k, v in emu.env(crm).items() if k != "TERRITORY_EMULATOR_URL"}
        env |= {"TERRITORY_DB_URL": f"sqlite:///{tmp_path / 'store.db'}"}
        territory(env, "sync")
        before = report(env, tmp_path, "before")
        key = "sf_id" if crm == "salesforce" else "hs_id"
        owned = [a for a in emu.control.records("accounts", include_deleted=False) if a["owner_n"]]
        owners = {o["n"]: o[key] for o in emu.control.records("owners")}
        a, b, c = owned[0], owned[1], owned[2]
        create = salesforce_tasks(env) if crm == "salesforce" else hubspot_tasks(env)
        create(a[key], TODAY, "Discovery call")
        create(a[key], TODAY, "Follow-up visit")
        create(b[key], TODAY, "Demo")
        create(b[key], TODAY, "Territory conflict: please review [territory:abc123]")  # the agent's own
        create(b[key], LONG_AGO, "Old call")  # another quarter
        human = Counter([owners[a["owner_n"]], owners[a["owner_n"]], owners[b["owner_n"]]])
        if crm == "salesforce":
            create.delete(create(c[key], TODAY, "Logged by mistake"))  # type: ignore[attr-defined]
        else:
            create.note(c[key], TODAY, "Met the buyer at the fair")  # type: ignore[attr-defined]
            human[owners[c["owner_n"]]] += 1
        territory(env, "sync")
        after = report(env, tmp_path, "after")

    assert before["activity"]["available"] and after["activity"]["available"]
    assert after["activity"]["total"] - before["activity"]["total"] == sum(human.values())
    was = {rep["id"]: rep["activities"] for rep in before["reps"]}
    for rep in after["reps"]:
        assert rep["activities"] - was[rep["id"]] == human[rep["id"]], rep["name"]
        if rep["accounts"]:
            assert rep["activity_per_account"] == pytest.approx(rep["activities"] / rep["accounts"])
    assert after["activity"]["per_account"] == pytest.approx(after["activity"]["total"] / after["team"]["accounts"])
    html = (tmp_path / "after.html").read_text(encoding="utf-8")
    assert f"{after['activity']['total']:,} in all" in html
