"""`territory report --accounts --reps`: the report for users without a CRM, from the planner's CSVs."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from typer.testing import CliRunner

from territory.cli.errors import run_with_exit_codes
from territory.cli.main import app

runner = CliRunner()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the CLI as the installed command does (exit codes for our errors); code and output."""
    code = run_with_exit_codes(app, list(args))
    printed = capsys.readouterr()
    return code, printed.out + printed.err
OWNERS = ("r1", "r2", "r3", "")


def write_book(folder: Path, *, accounts: int = 40) -> tuple[Path, Path]:
    """accounts.csv in cp1252 with ';' and decimal commas (as Excel writes it), reps.csv with quota."""
    lines = ["id;name;owner_id;lat;lon;potential;workload;locked;industry"]
    for i in range(accounts):
        owner = OWNERS[i % 7 % 4]
        lines.append(f"a{i};Müller {i} GmbH;{owner};{50 + i / 100:.2f}".replace(".", ",")
                     + f";{8 + i / 50:.2f}".replace(".", ",") + f";{1000 + 250 * i},5;{3 + i % 4};;Maschinenbau")
    (folder / "accounts.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    (folder / "reps.csv").write_text(
        "id,name,lat,lon,capacity,active,industries,quota,territory_since\n"
        "r1,Jürgen Groß,50.1,8.6,40,true,,5000,2026-09-01\n"
        "r2,Anna Berg,52.5,13.4,60,true,,20000,\n"
        "r3,Cem Yıldız,48.1,11.6,60,false,,,\n"
        "r4,Dana Roth,53.5,10.0,60,true,,,\n", encoding="utf-8")
    return folder / "accounts.csv", folder / "reps.csv"


def test_figures_per_rep_are_the_csv_sums_when_reported_without_a_crm(tmp_path: Path) -> None:
    accounts, reps = write_book(tmp_path)
    result = runner.invoke(app, ["report", "--accounts", str(accounts), "--reps", str(reps), "--quarter", "2026Q4",
                                 "--out", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json")], env={})
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    sums: defaultdict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for line in accounts.read_text(encoding="cp1252").splitlines()[1:]:
        cells = line.split(";")
        sums[cells[2]][0] += 1
        sums[cells[2]][1] += float(cells[5].replace(",", "."))
        sums[cells[2]][2] += float(cells[6])
    by_id = {rep["id"]: rep for rep in figures["reps"]}
    assert set(by_id) == {"r1", "r2", "r3", "r4"}  # r3 is inactive but still holds accounts
    for rep_id, rep in by_id.items():
        assert [rep["accounts"], rep["potential"], rep["workload"]] == pytest.approx(sums[rep_id]), rep_id
    assert figures["team"]["unassigned_accounts"] == sums[""][0] and figures["team"]["reps"] == 3
    assert by_id["r1"]["quota"] == 5000 and by_id["r1"]["new_territory"] is True
    assert by_id["r1"]["capacity"] == 40 and by_id["r1"]["flags"]["utilisation"] == "bad"
    assert by_id["r3"]["flags"]["inactive_owner"] == "bad"
    assert figures["source"]["kind"] == "csv" and figures["deals"]["available"] is False
    assert figures["conflicts"]["available"] is False and figures["whitespace"]["available"] is False
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Jürgen Groß" in html and "No data: the CSV contracts carry no opportunities" in html
    assert "Jürgen Groß" in figures["summary"]["text"] and "Wrote" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--scenario", "s1"], "--scenario reads the store"),
    (["--quarter", "2026-13"], "is not like 2026Q4"),
])
def test_exits_2_naming_the_problem_when_the_options_do_not_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str,
) -> None:
    accounts, reps = write_book(tmp_path)
    code, output = run(capsys, "report", "--accounts", str(accounts), "--reps", str(reps),
                       "--out", str(tmp_path / "r.html"), *args)
    assert code == 2 and message in " ".join(output.split())
    assert not (tmp_path / "r.html").exists()


def test_exits_2_naming_file_and_line_when_a_csv_is_broken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accounts, reps = write_book(tmp_path)
    reps.write_text(reps.read_text(encoding="utf-8").replace("r2,Anna Berg,52.5,13.4,60,true,,20000",
                                                             "r2,Anna Berg,52.5,13.4,60,true,,lots"), encoding="utf-8")
    code, output = run(capsys, "report", "--accounts", str(accounts), "--reps", str(reps),
                       "--out", str(tmp_path / "r.html"))
    output = " ".join(output.split())
    assert code == 2 and "reps.csv" in output and "line 3" in output and "'lots'" in output, output
    code, output = run(capsys, "report", "--accounts", str(accounts), "--out", str(tmp_path / "r.html"))
    assert code == 2 and "--accounts needs --reps" in output
