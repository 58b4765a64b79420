"""`territory sync`, `export` and `doctor` through Typer's CliRunner with a fake CRM injected."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territory.cli.errors import run_with_exit_codes
from territory.cli.main import app
from territory.config import Settings
from territory.connector import factory
from territory.connector.errors import FatalCrmError
from territory.connector.records import ObjectKind
from territory.sync import open_store
from territory.sync.export import EXPORT_COLUMNS
from tests.fake_crm import FakeConnector, FakeCrm, seed_crm

runner = CliRunner()


@pytest.fixture
def crm_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeCrm:
    """A configured environment whose connector is a FakeConnector over returned data."""
    monkeypatch.chdir(tmp_path)  # no stray .env, store file lands in tmp
    for name in ("TERRITORY_CRM", "HUBSPOT_ACCESS_TOKEN", "SF_USERNAME", "TERRITORY_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERRITORY_CRM", "salesforce")
    monkeypatch.setenv("SF_INSTANCE_URL", "https://example.my.salesforce.com")
    monkeypatch.setenv("SF_ACCESS_TOKEN", "00Dtest!token")
    monkeypatch.setenv("TERRITORY_DB_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    data = seed_crm()
    monkeypatch.setattr(factory, "build_connector", lambda settings: FakeConnector(data))
    return data


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run like the console script does (our exceptions mapped to exit codes)."""
    code = run_with_exit_codes(app, args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_sync_prints_summary_table_when_run_first_time(crm_data: FakeCrm) -> None:
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 0, result.output
    assert "Sync summary: salesforce, initial" in result.output
    total = next(line for line in result.output.splitlines() if "total" in line)
    cells = [c for c in total.replace("│", " ").split()]
    assert cells[:5] == ["total", "34", "34", "0", "0"]  # fetched, inserted, updated, deleted
    assert "API calls: 10" in result.output


def test_sync_json_reports_counts_when_second_run_has_changes(crm_data: FakeCrm) -> None:
    assert runner.invoke(app, ["sync", "--json"]).exit_code == 0
    crm_data.edit(ObjectKind.ACCOUNTS, "A0001", name="Neu GmbH")
    crm_data.delete(ObjectKind.ACCOUNTS, "A0002")
    result = runner.invoke(app, ["sync", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert {k: doc[k] for k in ("fetched", "inserted", "updated", "deleted", "skipped")} == {
        "fetched": 2, "inserted": 0, "updated": 1, "deleted": 1, "skipped": 0}
    assert doc["api_calls"] == 3 and doc["elapsed_s"] >= 0 and doc["status"] == "ok"
    assert doc["kinds"]["accounts"]["pages"] == 1


def test_sync_exits_4_and_lists_records_when_some_were_skipped(
    crm_data: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        factory, "build_connector", lambda s: FakeConnector(crm_data, malformed=["A0003"])
    )
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 4
    assert "accounts A0003: malformed value (injected)" in result.output
    again = runner.invoke(app, ["sync", "--json", "--full"])  # re-read, unchanged: reported before
    doc = json.loads(again.output)
    assert again.exit_code == 0 and doc["skipped_records"] == []
    assert doc["skipped_known_records"] == [
        {"kind": "accounts", "record_id": "A0003", "problem": "malformed value (injected)"}]


def test_sync_exits_2_naming_variable_when_crm_not_configured(
    crm_data: FakeCrm, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TERRITORY_CRM")
    code, _, err = run_cli(["sync"], capsys)
    assert code == 2 and "TERRITORY_CRM" in err


def test_sync_exits_2_naming_db_url_when_store_unreachable(
    crm_data: FakeCrm, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TERRITORY_DB_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    code, _, err = run_cli(["sync"], capsys)
    assert code == 2 and "TERRITORY_DB_URL" in err and "cannot open the store" in err


def test_sync_exits_3_when_crm_refuses_access(
    crm_data: FakeCrm, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(settings: Settings) -> FakeConnector:
        raise FatalCrmError("INVALID_SESSION_ID", crm="salesforce", status=401,
                            next_step="set a fresh SF_ACCESS_TOKEN")
    monkeypatch.setattr(factory, "build_connector", refuse)
    code, _, err = run_cli(["sync"], capsys)
    assert code == 3 and "set a fresh SF_ACCESS_TOKEN" in err


def test_export_csv_has_stable_columns_sorted_without_deleted_when_synced(
    crm_data: FakeCrm,
) -> None:
    crm_data.delete(ObjectKind.ACCOUNTS, "A0005")
    assert runner.invoke(app, ["sync"]).exit_code == 0
    result = runner.invoke(app, ["export", "accounts", "--format", "csv"])
    assert result.exit_code == 0
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == EXPORT_COLUMNS["accounts"]
    ids = [r[0] for r in rows[1:]]
    assert ids == sorted(crm_data.live(ObjectKind.ACCOUNTS)) and "A0005" not in ids
    first = dict(zip(rows[0], rows[1]))
    assert (first["name"], first["owner_id"], first["crm"]) == ("Firma 0 GmbH", "U000", "salesforce")


def test_export_json_to_file_when_out_given(crm_data: FakeCrm, tmp_path: Path) -> None:
    assert runner.invoke(app, ["sync"]).exit_code == 0
    target = tmp_path / "out" / "owners.json"
    result = runner.invoke(app, ["export", "owners", "--format", "json", "--out", str(target)])
    assert result.exit_code == 0
    owners = json.loads(target.read_text(encoding="utf-8"))
    assert [o["id"] for o in owners] == ["U000", "U001", "U002"]
    assert list(owners[0]) == list(EXPORT_COLUMNS["owners"])
    assert owners[1]["teams"] == ["DACH"] and owners[2]["is_active"] is False


def test_export_hints_at_sync_when_store_is_empty(crm_data: FakeCrm, tmp_path: Path) -> None:
    open_store(f"sqlite:///{tmp_path / 'cli.db'}").close()  # an empty store
    result = runner.invoke(app, ["export", "opportunities"])
    assert result.exit_code == 0
    assert result.stdout.strip() == ",".join(EXPORT_COLUMNS["opportunities"])
    assert "run `territory sync` first" in result.stderr


def test_export_exits_2_without_creating_a_database_when_no_store_exists(
    crm_data: FakeCrm, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["export", "accounts"], capsys)
    assert code == 2 and out == ""
    assert "there is no store at" in err and "territory sync" in err
    assert not (tmp_path / "cli.db").exists()


def test_store_file_is_private_to_its_owner_when_sync_creates_it(crm_data: FakeCrm, tmp_path: Path) -> None:
    assert runner.invoke(app, ["sync"]).exit_code == 0
    assert stat.S_IMODE((tmp_path / "cli.db").stat().st_mode) == 0o600


def test_doctor_passes_every_check_when_all_is_well(crm_data: FakeCrm) -> None:
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    for check in ("settings", "store", "connectivity", "authentication", "permissions", "api usage"):
        assert f"PASS {check}:" in result.output
    assert "120 of 15000 API calls used" in result.output


def test_doctor_exits_2_with_fix_when_settings_missing(
    crm_data: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SF_ACCESS_TOKEN")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 2
    assert "FAIL settings: SF_ACCESS_TOKEN" in result.output
    assert "PASS store" in result.output


def test_doctor_exits_3_when_a_permission_is_missing(
    crm_data: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NoScope(FakeConnector):
        def check_access(self) -> list[tuple[str, bool, str]]:
            return [("authentication", True, "ok"),
                    ("scope crm.objects.companies.read", False, "add the scope to the private app")]
    monkeypatch.setattr(factory, "build_connector", lambda s: NoScope(crm_data))
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 3
    checks = {c["name"]: c for c in json.loads(result.output)}
    assert checks["scope crm.objects.companies.read"]["passed"] is False
    assert "add the scope" in checks["scope crm.objects.companies.read"]["detail"]


def test_doctor_exits_3_when_crm_unreachable(
    crm_data: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(settings: Settings) -> FakeConnector:
        raise ConnectionError("connection refused")
    monkeypatch.setattr(factory, "build_connector", unreachable)
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 3
    assert "FAIL crm connection: ConnectionError: connection refused" in result.output


def test_sync_exits_3_and_says_it_resumes_when_crm_fails_mid_run(
    crm_data: FakeCrm, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        factory, "build_connector", lambda s: FakeConnector(crm_data, fail_after_pages=3)
    )
    code, _, err = run_cli(["sync"], capsys)
    assert code == 3
    assert "11 records fetched and committed" in err and "resume" in err
    monkeypatch.setattr(factory, "build_connector", lambda s: FakeConnector(crm_data))
    code, out, _ = run_cli(["sync", "--json"], capsys)
    assert code == 0 and json.loads(out)["fetched"] == 34 - 11


def test_sync_exits_2_when_store_schema_is_newer_than_this_version(
    crm_data: FakeCrm, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import sqlalchemy as sa

    from territory.sync import open_store

    store = open_store(f"sqlite:///{tmp_path / 'cli.db'}")
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    code, _, err = run_cli(["sync"], capsys)
    assert code == 2 and "TERRITORY_DB_URL" in err and "newer territory-agent" in err


def test_sync_prints_progress_lines_when_output_is_not_a_terminal(
    crm_data: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(factory, "build_connector", lambda s: FakeConnector(crm_data, page_size=1))
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 0
    assert "accounts: 25 fetched in 25 pages" in result.stderr
    assert "accounts: 25 fetched" not in result.stdout  # progress never pollutes stdout


def test_doctor_exits_2_with_fix_when_store_unreachable(
    crm_data: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRITORY_DB_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 2
    assert "FAIL store: cannot open the store" in result.output
    assert "Check TERRITORY_DB_URL" in result.output
    assert "PASS authentication" in result.output  # the CRM checks still ran


def test_sync_exits_2_naming_the_ca_file_when_it_does_not_exist(
    crm_data: FakeCrm, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("TERRITORY_CA_FILE", str(tmp_path / "gone.pem"))
    code, _, err = run_cli(["sync"], capsys)
    assert code == 2 and "TERRITORY_CA_FILE" in err and "gone.pem" in err and "Unexpected" not in err
