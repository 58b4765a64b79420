"""`territory plan` through Typer's CliRunner: CSV contract, errors (exit 2), outputs."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territory.cli.main import app
from territory.planner.csv_io import PLAN_COLUMNS, PlanInputError, read_instance, write_instance
from territory.planner.generate import generate_instance
from territory.planner.instance import PlanOptions
from territory.planner.validate import validate_plan

runner = CliRunner()

METRIC_KEYS = {
    "before_max_deviation_potential",
    "after_max_deviation_potential",
    "before_max_deviation_workload",
    "after_max_deviation_workload",
    "before_cv_potential",
    "after_cv_potential",
    "before_cv_workload",
    "after_cv_workload",
    "moves",
    "moved_potential_share",
    "travel_before",
    "travel_after",
    "price_of_balance",
    "lp_lower_bound_moves",
    "gap",
    "solver_status",
    "phase_timings",
    "explanations",
    "widened_accounts",
}


@pytest.fixture()
def csv_pair(tmp_path: Path) -> tuple[Path, Path]:
    accounts, reps = tmp_path / "accounts.csv", tmp_path / "reps.csv"
    write_instance(generate_instance(400, 7, seed=3), accounts, reps)
    return accounts, reps


def _output(result: object) -> str:
    stderr = getattr(result, "stderr", "") if getattr(result, "stderr_bytes", None) is not None else ""
    return str(getattr(result, "output", "")) + stderr


def test_plan_writes_moved_rows_and_metrics_when_inputs_valid(
    csv_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    accounts, reps = csv_pair
    out, metrics = tmp_path / "plan.csv", tmp_path / "metrics.json"
    args = [
        "plan",
        "--accounts",
        str(accounts),
        "--reps",
        str(reps),
        "--out",
        str(out),
        "--json",
        str(metrics),
    ]
    result = runner.invoke(
        app, [*args, "--tolerance", "0.1", "--reach", "5", "--seed", "1", "--solver", "greedy"]
    )
    assert result.exit_code == 0, result.output
    assert "Territories before -> after" in result.output and "Rep 001 (Berlin)" in result.output  # reps by name
    assert "price of balance" in result.output
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    instance = read_instance(accounts, reps)
    owners = {a.id: a.owner_id for a in instance.accounts}
    assert rows and tuple(rows[0]) == PLAN_COLUMNS
    assert all(
        row["from_owner_id"] == owners[row["account_id"]] != row["to_owner_id"] and row["reason"]
        for row in rows
    )
    data = json.loads(metrics.read_text())
    assert set(data) >= METRIC_KEYS
    assert data["moves"] == len(rows)
    assert data["after_max_deviation_potential"] < data["before_max_deviation_potential"]
    assignment = {
        **{k: v for k, v in owners.items() if v},
        **{row["account_id"]: row["to_owner_id"] for row in rows},
    }
    assert validate_plan(instance, PlanOptions(), assignment) == []


def test_plan_runs_default_planner_when_solver_auto(csv_pair: tuple[Path, Path], tmp_path: Path) -> None:
    accounts, reps = csv_pair
    metrics = tmp_path / "m.json"
    result = runner.invoke(
        app,
        [
            "plan",
            "--accounts",
            str(accounts),
            "--reps",
            str(reps),
            "--out",
            str(tmp_path / "p.csv"),
            "--json",
            str(metrics),
            "--time-limit",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(metrics.read_text())
    assert [v for v in data["violations"] if not v["kind"].startswith("balance")] == []
    assert data["solver_status"]


def test_tradeoff_prints_one_row_per_tolerance_when_requested(
    csv_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    accounts, reps = csv_pair
    metrics = tmp_path / "t.json"
    result = runner.invoke(
        app,
        [
            "plan",
            "--accounts",
            str(accounts),
            "--reps",
            str(reps),
            "--tradeoff",
            "--tradeoff-tolerances",
            "0.1,0.2",
            "--solver",
            "greedy",
            "--json",
            str(metrics),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Price of balance" in result.output and "10%" in result.output and "20%" in result.output
    rows = json.loads(metrics.read_text())["tradeoff"]
    assert [row["tolerance"] for row in rows] == [0.1, 0.2]
    assert rows[1]["max_deviation_potential"] <= 0.21


Edit = Callable[[list[list[str]]], None]


def _rewrite(path: Path, edit: Edit) -> None:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    edit(rows)
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def _replace_field(line_no: int, column: int, value: str) -> Edit:
    def edit(rows: list[list[str]]) -> None:
        rows[line_no - 1][column] = value

    return edit


def _drop_column(column: int) -> Edit:
    def edit(rows: list[list[str]]) -> None:
        for row in rows:
            del row[column]

    return edit


@pytest.mark.parametrize(
    ("target", "edit", "line", "problem"),
    [
        ("accounts", _replace_field(4, 2, "REP999"), 4, "'REP999' is not a rep"),
        ("accounts", _replace_field(3, 5, "-12"), 3, "negative values are not allowed"),
        ("accounts", _replace_field(6, 6, "lots"), 6, "must be a number, got 'lots'"),
        ("accounts", _replace_field(5, 0, "ACC000001"), 5, "duplicate id 'ACC000001' (first seen on line 2)"),
        ("accounts", _replace_field(2, 7, "maybe"), 2, "true/false/1/0"),
        ("accounts", _drop_column(6), 1, "missing column(s) workload"),
        ("reps", _replace_field(3, 4, "-1"), 3, "column 'capacity' must be >= 0"),
        ("reps", _replace_field(4, 0, "REP001"), 4, "duplicate id 'REP001'"),
        ("reps", _replace_field(2, 2, "123"), 2, "column 'lat' must be <= 90"),
    ],
)
def test_plan_exits_2_naming_file_line_and_problem_when_csv_is_bad(
    csv_pair: tuple[Path, Path], tmp_path: Path, target: str, edit: Edit, line: int, problem: str
) -> None:
    accounts, reps = csv_pair
    bad = accounts if target == "accounts" else reps
    _rewrite(bad, edit)
    out = tmp_path / "plan.csv"
    result = runner.invoke(app, ["plan", "--accounts", str(accounts), "--reps", str(reps), "--out", str(out)])
    assert result.exit_code == 2
    message = _output(result)
    assert f"{bad.name}, line {line}: " in message and problem in message
    assert not out.exists()


def test_plan_exits_2_when_file_missing(tmp_path: Path, csv_pair: tuple[Path, Path]) -> None:
    _, reps = csv_pair
    result = runner.invoke(
        app,
        [
            "plan",
            "--accounts",
            str(tmp_path / "nope.csv"),
            "--reps",
            str(reps),
            "--out",
            str(tmp_path / "p.csv"),
        ],
    )
    assert result.exit_code == 2
    assert "nope.csv" in _output(result) and "cannot open" in _output(result)


def test_plan_exits_2_when_out_missing_without_tradeoff(csv_pair: tuple[Path, Path]) -> None:
    accounts, reps = csv_pair
    result = runner.invoke(app, ["plan", "--accounts", str(accounts), "--reps", str(reps)])
    assert result.exit_code == 2 and "--out is required" in _output(result)


def test_reader_accepts_bom_blank_lines_and_extra_columns_when_exported_from_spreadsheet(
    tmp_path: Path,
) -> None:
    reps = tmp_path / "reps.csv"
    reps.write_text(
        "\ufeffid,name,lat,lon,capacity,active,industries,region\nR1,Ann,52.5,13.4,100,TRUE,MedTech; Retail,East\n\nR2,Bob,48.1,11.6,90,0,,South\n"
    )
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "id,name,owner_id,lat,lon,potential,workload,locked,industry,note\nA1,Acme,R1,52.5,13.4,1000,6,yes,Retail,x\nA2,Beta,,48.1,11.6,500,3,,,y\n"
    )
    instance = read_instance(accounts, reps)
    assert instance.reps[0].industries == frozenset({"MedTech", "Retail"}) and instance.reps[0].active
    assert not instance.reps[1].active and instance.reps[1].industries == frozenset()
    assert (
        instance.accounts[0].locked
        and instance.accounts[1].owner_id is None
        and instance.accounts[1].industry is None
    )


def test_reader_error_carries_path_and_line_when_raised(tmp_path: Path) -> None:
    reps = tmp_path / "reps.csv"
    reps.write_text(
        "id,name,lat,lon,capacity,active,industries,target_weight\nR1,Ann,52.5,13.4,100,true,,0\n"
    )
    with pytest.raises(PlanInputError) as info:
        read_instance(tmp_path / "unused.csv", reps)
    assert (info.value.path, info.value.line) == (str(reps), 2) and "target_weight" in info.value.problem


def test_csv_round_trip_keeps_instance_when_written_and_read(tmp_path: Path) -> None:
    instance = generate_instance(300, 6, seed=9)
    write_instance(instance, tmp_path / "a.csv", tmp_path / "r.csv")
    assert read_instance(tmp_path / "a.csv", tmp_path / "r.csv") == instance


def test_tradeoff_reuses_plan_for_main_tolerance_when_out_given(
    csv_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    accounts, reps = csv_pair
    out, metrics = tmp_path / "plan.csv", tmp_path / "m.json"
    args = ["plan", "--accounts", str(accounts), "--reps", str(reps), "--out", str(out), "--json", str(metrics)]
    args += ["--tradeoff", "--tradeoff-tolerances", "0.1,0.2", "--tolerance", "0.2", "--solver", "greedy"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(metrics.read_text())
    main_row = next(row for row in data["tradeoff"] if row["tolerance"] == 0.2)
    assert data["moves"] == main_row["moves"] == len(out.read_text().splitlines()) - 1
    assert data["travel_after"] == pytest.approx(main_row["travel_after"])


def test_plan_exits_4_naming_the_cause_when_the_instance_lacks_capacity(tmp_path: Path) -> None:
    instance = generate_instance(300, 6, seed=2)
    total = sum(a.workload for a in instance.accounts)
    tight = tuple(replace(r, capacity=0.5 * total / 6) for r in instance.reps)  # half of what is needed
    accounts, reps, metrics = tmp_path / "accounts.csv", tmp_path / "reps.csv", tmp_path / "metrics.json"
    write_instance(replace(instance, reps=tight), accounts, reps)
    result = runner.invoke(app, ["plan", "--accounts", str(accounts), "--reps", str(reps), "--out",
                                 str(tmp_path / "plan.csv"), "--json", str(metrics), "--time-limit", "5"])
    text = _output(result)
    assert result.exit_code == 4, text
    assert "exceeds the active reps' total capacity" in text and "planner bug" not in text
    doc = json.loads(metrics.read_text(encoding="utf-8"))
    assert doc["solver_status"] == "BEST_EFFORT" and any(v["kind"] == "capacity" for v in doc["violations"])
