"""Quota from a CRM field named in settings: an admin adds a quota field to the Salesforce User
through the Metadata API and fills it in; `territory sync` reads it into the store and
`territory report` measures pipeline coverage against it (a --reps overlay still wins)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from typer.testing import CliRunner

from territory.cli.main import app
from territory.emulator import start_emulator

FIELD = "Quarterly_Quota__c"
runner = CliRunner()


def territory(env: dict[str, str], *args: str) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code in (0, 4), f"{args}: {result.output}\n{result.exception!r}"  # 4: a messy record skipped
    return result.output


def report(env: dict[str, str], folder: Path, *extra: str) -> tuple[dict[str, Any], str]:
    printed = territory(env, "report", "--out", str(folder / "report.html"), "--json", str(folder / "report.json"),
                        *extra)
    return json.loads((folder / "report.json").read_text(encoding="utf-8")), printed


def admin_client(env: dict[str, str]) -> Salesforce:
    session = requests.Session()
    session.trust_env = False
    session.verify = env["TERRITORY_CA_FILE"]
    sf = Salesforce(instance_url=env["SF_INSTANCE_URL"], session_id=env["SF_ACCESS_TOKEN"], session=session)
    sf.mdapi._client.transport.session = session  # zeep's own session would not trust the emulator's CA
    return sf


def test_pipeline_coverage_uses_the_user_quota_field_when_named_in_settings(tmp_path: Path) -> None:
    with start_emulator(accounts=80, seed=41) as emu:
        env = {k: v for k, v in emu.env("salesforce").items() if k != "TERRITORY_EMULATOR_URL"}
        env |= {"TERRITORY_DB_URL": f"sqlite:///{tmp_path / 'store.db'}"}
        sf = admin_client(env)
        md = sf.mdapi
        md.CustomField.create(md.CustomField(fullName=f"User.{FIELD}", label="Quarterly quota",
                                             type=md.FieldType("Currency"), precision=16, scale=2))
        users = sf.query("SELECT Id FROM User WHERE IsActive = true ORDER BY Id")["records"]
        first, second = users[0]["Id"], users[1]["Id"]
        sf.User.update(first, {FIELD: 50000})
        sf.User.update(second, {FIELD: 120000})
        territory(env, "sync")  # before the field is named: users are synced without quotas
        without, _ = report(env, tmp_path)
        env["TERRITORY_QUOTA_FIELD"] = FIELD
        territory(env, "sync")  # the users did not change since, yet their quotas arrive
        named, _ = report(env, tmp_path)
        sf.User.update(second, {FIELD: 80000})
        territory(env, "sync")
        changed, _ = report(env, tmp_path)
        overlay = tmp_path / "overlay.csv"
        overlay.write_text(f"id,quota\n{first},1000\n", encoding="utf-8")
        overlaid, _ = report(env, tmp_path, "--reps", str(overlay))

    assert all(rep["quota"] is None for rep in without["reps"])
    expected = {first: 50000.0, second: 120000.0}
    for rep in named["reps"]:
        assert rep["quota"] == expected.get(rep["id"]), rep["name"]
        assert rep["quota_source"] == ("crm" if rep["id"] in expected else None)
        if rep["id"] in expected and rep["pipeline_open"] is not None:
            assert rep["pipeline_coverage"] == pytest.approx(rep["pipeline_open"] / rep["quota"])
    assert {r["id"]: r["quota"] for r in changed["reps"]}[second] == 80000.0
    by_id = {r["id"]: r for r in overlaid["reps"]}
    assert (by_id[first]["quota"], by_id[first]["quota_source"]) == (1000.0, "overlay")
    assert (by_id[second]["quota"], by_id[second]["quota_source"]) == (80000.0, "crm")
    assert named["quota_note"] is None


def test_report_says_quotas_need_the_overlay_when_a_quota_field_is_named_for_hubspot(tmp_path: Path) -> None:
    with start_emulator(accounts=40, seed=41) as emu:
        env = {k: v for k, v in emu.env("hubspot").items() if k != "TERRITORY_EMULATOR_URL"}
        env |= {"TERRITORY_DB_URL": f"sqlite:///{tmp_path / 'store.db'}", "TERRITORY_QUOTA_FIELD": FIELD}
        territory(env, "sync")
        figures, printed = report(env, tmp_path)
    assert figures["quota_note"] and "--reps" in figures["quota_note"] and FIELD in figures["quota_note"]
    assert "TERRITORY_QUOTA_FIELD" in " ".join(printed.split())
    assert "owners have no custom fields" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert all(rep["quota"] is None for rep in figures["reps"])
