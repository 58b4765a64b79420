"""Files from real spreadsheets through `rules evaluate` and `plan`: German Excel (cp1252,
``;``, decimal commas), Excel "Unicode text" (UTF-16, tabs), UTF-8 with a byte-order mark.
Each gives the same decisions and the same plan as the plain UTF-8 file it was saved from,
and a bad byte or an ambiguous number is reported at the same line by both commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from territory.cli.errors import run_with_exit_codes
from territory.cli.main import app
from territory.planner.csv_io import read_reps
from territory.rules.csv_io import read_accounts_csv, read_reps_csv

RULES = """\
version: 1
territories:
  - {id: NORTH, owner: R1, match: {country: [DE], postal_code: ["0-3"]}}
  - {id: MIDDLE, owner: R2, match: {country: [DE], postal_code: ["4-6"]}}
  - {id: SOUTH, owner: R3, match: {country: [DE], postal_code: ["7-9"]}}
  - {id: BIG, owner: R3, priority: 5, match: {annual_revenue: {min: 2000000}}}
"""
ACCOUNT_HEADER = ["id", "name", "owner_id", "country", "postal_code", "industry", "employees", "annual_revenue",
                  "domain", "lat", "lon", "potential", "workload", "locked"]
CITIES = [("Dresden", "01067", 51.05089, 13.73832), ("Berlin", "10115", 52.53, 13.38), ("Köln", "50667", 50.9375, 6.96028),
          ("Frankfurt", "60311", 50.11, 8.68), ("München", "80331", 48.13743, 11.57549), ("Nürnberg", "90402", 49.45, 11.08)]
NAMES = ["Müller GmbH", "Bäckerei Groß", "Café Zoë", "Schäfer & Söhne", "Weiß AG", "Hölzl KG"]


def _book() -> tuple[list[list[object]], list[list[object]]]:
    """Accounts and reps as values (numbers as numbers), so each file variant formats them its way."""
    accounts: list[list[object]] = []
    for index in range(18):
        city, postal, lat, lon = CITIES[index % len(CITIES)]
        revenue = 1_234_567.5 * (index + 1) if index % 3 else 250.25 * (index + 1)
        accounts.append([f"A{index:02d}", f"{NAMES[index % 6]} {city}", f"R{index % 3 + 1}", "DE", postal, "Retail",
                         10 + index, revenue, f"a{index}.de", round(lat + index / 1000, 5), lon, 1500.5 + 100 * index, 2.5, "false"])
    reps: list[list[object]] = [[f"R{i}", f"Rep Ö{i}", 51.0 + i / 10, 10.5, 1200.0, "true", ""] for i in range(1, 4)]
    return accounts, reps


def _format(value: object, decimal: str) -> str:
    if isinstance(value, float):
        text = f"{value:,.5f}".rstrip("0").rstrip(".")  # thousands separators and decimals
        return text.translate(str.maketrans(",.", ".,")) if decimal == "comma" else text
    return str(value)


def _write(path: Path, header: list[str], rows: list[list[object]], *, delimiter: str, encoding: str, decimal: str) -> Path:
    lines = [delimiter.join(header)] + [delimiter.join(_format(v, decimal) for v in row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


VARIANTS = {
    # name: (delimiter, encoding, decimal); "plain" writes no thousands separators at all
    "excel_cp1252": (";", "cp1252", "comma"),
    "excel_unicode_text": ("\t", "utf-16", "comma"),
    "utf8_bom_semicolon": (";", "utf-8-sig", "comma"),
    "utf8_tab_points": ("\t", "utf-8", "point"),
}
REP_HEADER = ["id", "name", "lat", "lon", "capacity", "active", "industries"]


def _write_plain(folder: Path) -> tuple[Path, Path]:
    accounts, reps = _book()
    plain = [[repr(v) if isinstance(v, float) else str(v) for v in row] for row in accounts]
    plain_reps = [[repr(v) if isinstance(v, float) else str(v) for v in row] for row in reps]
    (folder / "accounts.csv").write_text("\n".join(",".join(r) for r in [ACCOUNT_HEADER, *plain]) + "\n", encoding="utf-8")
    (folder / "reps.csv").write_text("\n".join(",".join(r) for r in [REP_HEADER, *plain_reps]) + "\n", encoding="utf-8")
    return folder / "accounts.csv", folder / "reps.csv"


def _write_variant(folder: Path, variant: str) -> tuple[Path, Path]:
    delimiter, encoding, decimal = VARIANTS[variant]
    accounts, reps = _book()
    return (_write(folder / f"{variant}_accounts.csv", ACCOUNT_HEADER, accounts, delimiter=delimiter, encoding=encoding, decimal=decimal),
            _write(folder / f"{variant}_reps.csv", REP_HEADER, reps, delimiter=delimiter, encoding=encoding, decimal=decimal))


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = run_with_exit_codes(app, args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _evaluate(folder: Path, accounts: Path, reps: Path, out: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    return _cli(["rules", "evaluate", "--rules", str(folder / "territory.yaml"), "--accounts", str(accounts),
                 "--reps", str(reps), "--out", str(folder / out), *extra], capsys)


def _plan(folder: Path, accounts: Path, reps: Path, out: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    return _cli(["plan", "--accounts", str(accounts), "--reps", str(reps), "--out", str(folder / out),
                 "--tolerance", "0.5", "--time-limit", "5", *extra], capsys)


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    (tmp_path / "territory.yaml").write_text(RULES, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_spreadsheet_variants_give_the_plain_files_decisions_and_plan(folder: Path, variant: str, capsys: pytest.CaptureFixture[str]) -> None:
    plain_accounts, plain_reps = _write_plain(folder)
    assert _evaluate(folder, plain_accounts, plain_reps, "plain_decisions.csv", capsys)[0] == 0
    assert _plan(folder, plain_accounts, plain_reps, "plain_plan.csv", capsys)[0] == 0
    accounts, reps = _write_variant(folder, variant)
    code, output = _evaluate(folder, accounts, reps, "decisions.csv", capsys)
    assert code == 0, output
    assert (folder / "decisions.csv").read_text() == (folder / "plain_decisions.csv").read_text()
    code, output = _plan(folder, accounts, reps, "plan.csv", capsys)
    assert code == 0, output
    assert (folder / "plan.csv").read_text() == (folder / "plain_plan.csv").read_text()


def test_both_commands_read_names_and_numbers_of_a_german_excel_file_alike(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accounts, reps = _write_variant(folder, "excel_cp1252")
    table = read_accounts_csv(accounts, with_names=True)
    assert table.names[0].decode() == "Müller GmbH Dresden"
    assert table.annual_revenue[1] == 2_469_135.0  # written 2.469.135
    assert [r.capacity for r in read_reps_csv(reps)] == [r.capacity for r in read_reps(reps)] == [1200.0] * 3
    assert [r.name for r in read_reps_csv(reps)] == [r.name for r in read_reps(reps)] == ["Rep Ö1", "Rep Ö2", "Rep Ö3"]
    for run in (_evaluate, _plan):
        code, output = run(folder, accounts, reps, "out.csv", capsys)
        assert code == 0 and "note:" in output and "cp1252" in output, output


def test_a_bad_byte_is_named_at_its_line_by_both_commands(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accounts, reps = _write_plain(folder)
    lines = accounts.read_bytes().split(b"\n")
    lines[6] = lines[6].replace(b"A05,", b"A05,Bad \xff byte ")  # line 7 of the file
    accounts.write_bytes(b"\n".join(lines))
    for run in (_evaluate, _plan):
        code, output = run(folder, accounts, reps, "out.csv", capsys)
        assert code == 2 and "line 7" in output.replace("row 7", "line 7") and "0xff" in output, output


def test_an_ambiguous_thousand_is_rejected_at_its_line_by_both_commands(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accounts, _ = _write_variant(folder, "utf8_bom_semicolon")  # decimal commas, like the reps
    reps = folder / "reps_amb.csv"
    reps.write_text("id;name;lat;lon;capacity;active;industries\nR1;A;51;10;200;true;\nR2;B;52;11;1.200;true;\nR3;C;50;9;300;true;\n")
    for run in (_evaluate, _plan):
        code, output = run(folder, accounts, reps, "out.csv", capsys)
        assert code == 2 and "1.200" in output and ("line 3" in output or "row 3" in output), output
    for run in (_evaluate, _plan):
        code, output = run(folder, accounts, reps, "out.csv", capsys, "--decimal", "comma")
        assert code == 0, output


def test_an_encoding_given_on_the_command_line_is_used(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accounts, reps = _write_variant(folder, "excel_cp1252")
    code, output = _evaluate(folder, accounts, reps, "d.csv", capsys, "--encoding", "cp1252", "--delimiter", ";")
    assert code == 0 and "note:" not in output, output
    code, output = _plan(folder, accounts, reps, "p.csv", capsys, "--encoding", "utf-8")
    assert code == 2 and "cannot be read as UTF-8" in output, output


def test_a_missing_column_the_rules_use_is_named_in_a_warning(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accounts, reps = _write_plain(folder)
    rows = [line.split(",") for line in accounts.read_text().splitlines()]
    drop = rows[0].index("postal_code")
    accounts.write_text("\n".join(",".join(r[:drop] + r[drop + 1:]) for r in rows) + "\n")
    code, output = _evaluate(folder, accounts, reps, "d.csv", capsys)
    assert code == 0 and "no column postal_code" in output and "NORTH" in output, output
    assert "no column employees" not in output  # the rules match on no employee count
