"""`territory rules evaluate|validate` and `territory explain` through the real CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territory.cli.errors import run_with_exit_codes
from territory.cli.main import app

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "config" / "territory.example.yaml"
ACCOUNTS = """\
id,name,owner_id,country,postal_code,industry,employees,annual_revenue,domain,sourcing_rep_id,partner_id,extra
A1,Alpha,REP001,DE,20095,Retail,100,1000000,alpha.de,,,x
A2,"Beta, Inc.",REP001,DE,80331,MedTech,300,5000000,beta.de,,,x
ACC-000042,Key,REP009,FR,75001,Energy,5000,90000000,key.fr,,,x
A4,Nobody,,FR,75001,Energy,500,1000,,,,x
"""


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"accounts": tmp_path / "accounts.csv", "opps": tmp_path / "opps.csv", "reps": tmp_path / "reps.csv"}
    paths["accounts"].write_text(ACCOUNTS)
    paths["opps"].write_text("id,account_id,owner_id,amount,stage,is_closed\nO1,A2,REP001,50000,Negotiation,false\n")
    paths["reps"].write_text("id,name,lat,lon,capacity,active,industries\n" + "".join(f"REP00{i},Rep {i},52.5,13.4,200,true,\n" for i in range(1, 10)))
    return paths


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_with_exit_codes(app, args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_evaluate_writes_decisions_and_summary_when_inputs_are_good(files: dict[str, Path], tmp_path: Path) -> None:
    out, summary = tmp_path / "decisions.csv", tmp_path / "summary.json"
    result = CliRunner().invoke(app, ["rules", "evaluate", "--rules", str(EXAMPLE), "--accounts", str(files["accounts"]), "--opportunities", str(files["opps"]),
                                      "--reps", str(files["reps"]), "--out", str(out), "--json", str(summary)])
    assert result.exit_code == 0, result.output
    assert "4 accounts evaluated" in result.output and "mismatch" in result.output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["account_id", "current_owner_id", "expected_owner_id", "territory_ids", "status", "reason"]
    assert [(r["account_id"], r["status"], r["territory_ids"]) for r in rows] == [
        ("A1", "ok", "DE-NORTH"),
        ("A2", "grandfathered", "DE-SOUTH;MEDTECH"),
        ("ACC-000042", "mismatch", ""),
        ("A4", "unassigned", ""),
    ]
    data = json.loads(summary.read_text())
    assert data["accounts"] == 4 and data["status_counts"]["ok"] == 1 and data["territory_counts"]["DE-SOUTH"] == 1
    assert "elapsed_seconds" in data and "rep_coverage" in data and "potential_balance" in data


def test_rules_path_comes_from_environment_when_flag_missing(files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITORY_RULES", str(EXAMPLE))
    result = CliRunner().invoke(app, ["rules", "evaluate", "--accounts", str(files["accounts"]), "--out", str(tmp_path / "d.csv")])
    assert result.exit_code == 0, result.output


def test_validate_reports_ok_when_reps_known(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["rules", "validate", "--rules", str(EXAMPLE), "--reps", str(files["reps"])])
    assert result.exit_code == 0, result.output
    assert "OK and rep ids: 4 territories, 2 named accounts" in result.output


def test_validate_exits_2_with_location_when_rep_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reps = tmp_path / "reps.csv"
    reps.write_text("id,name,active\nREP001,One,true\n")
    code, _, err = _run(["rules", "validate", "--rules", str(EXAMPLE), "--reps", str(reps)], capsys)
    assert code == 2
    assert f"{EXAMPLE}:16:12: unknown rep 'REP002'" in err


def test_validate_exits_2_with_line_and_column_when_file_is_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "territory.yaml"
    bad.write_text("version: 1\nterritories:\n  - {id: X, owner: R, match: {postal_code: ['29-20']}}\n")
    code, _, err = _run(["rules", "validate", "--rules", str(bad)], capsys)
    assert code == 2
    assert f"{bad}:3:" in err and "'29-20'" in err


def test_evaluate_exits_2_naming_row_when_number_is_bad(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files["accounts"].write_text(ACCOUNTS.replace("500,1000", "many,1000"))
    code, _, err = _run(["rules", "evaluate", "--rules", str(EXAMPLE), "--accounts", str(files["accounts"]), "--out", str(tmp_path / "d.csv")], capsys)
    assert code == 2
    assert "accounts.csv: row 5: column employees: 'many' is not a number" in err


def test_evaluate_exits_2_when_id_column_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("name,owner_id\nX,R\n")
    code, _, err = _run(["rules", "evaluate", "--rules", str(EXAMPLE), "--accounts", str(accounts), "--out", str(tmp_path / "d.csv")], capsys)
    assert code == 2 and "row 1: missing column(s) id" in err


def test_evaluate_exits_2_when_rules_file_missing(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["rules", "evaluate", "--rules", str(tmp_path / "nope.yaml"), "--accounts", str(files["accounts"]), "--out", str(tmp_path / "d.csv")], capsys)
    assert code == 2 and "cannot read the rules file" in err


def test_explain_prints_decision_path_when_account_exists(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["explain", "A2", "--rules", str(EXAMPLE), "--accounts", str(files["accounts"]), "--opportunities", str(files["opps"])])
    assert result.exit_code == 0, result.output
    assert "account A2 Beta, Inc." in result.output
    assert "MATCH DE-SOUTH" in result.output and "MATCH MEDTECH" in result.output
    assert "tiebreaker priority: highest priority 10; kept MEDTECH" in result.output
    assert "status: grandfathered" in result.output


def test_explain_exits_2_when_account_unknown(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["explain", "NOPE", "--rules", str(EXAMPLE), "--accounts", str(files["accounts"])], capsys)
    assert code == 2 and "no account with id 'NOPE'" in err


def test_validate_warns_when_owner_is_inactive(tmp_path: Path) -> None:
    reps = tmp_path / "reps.csv"
    reps.write_text("id,name,active\n" + "".join(f"REP00{i},R,{'false' if i == 3 else 'true'}\n" for i in range(1, 10)))
    result = CliRunner().invoke(app, ["rules", "validate", "--rules", str(EXAMPLE), "--reps", str(reps)])
    assert result.exit_code == 0, result.output
    assert "warning: territory MEDTECH is owned by inactive rep REP003" in result.output
