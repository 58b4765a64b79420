"""CSV adapters: the vectorised reader agrees with the csv module; bad rows are located."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from territory.rules import CsvInputError, evaluate, parse_rules
from territory.rules.csv_columns import read_csv_columns
from territory.rules.csv_io import (
    decisions_to_csv_text,
    read_accounts_csv,
    read_opportunities_csv,
    read_reps_csv,
    write_decisions_csv,
)

PLAIN = "id,name,owner_id,employees\nA1,Alpha,R1,10\nA2,,R2,\nA3,Gamma GmbH,,7\n"


def _columns(path: Path) -> dict[str, list[bytes]]:
    return {k: v.tolist() for k, v in read_csv_columns(path, ["id", "name", "owner_id", "employees"], ["id"]).items()}


@pytest.mark.parametrize(
    "text",
    [
        PLAIN,
        PLAIN.replace("\n", "\r\n"),
        PLAIN.rstrip("\n"),
        "\ufeff" + PLAIN,
        PLAIN.replace("Alpha", '"Alpha"'),  # a quote sends it through the csv module
    ],
    ids=["lf", "crlf", "no-final-newline", "bom", "quoted"],
)
def test_reader_gives_same_columns_when_file_shape_varies(tmp_path: Path, text: str) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(text.encode("utf-8"))
    assert _columns(path) == {"id": [b"A1", b"A2", b"A3"], "name": [b"Alpha", b"", b"Gamma GmbH"], "owner_id": [b"R1", b"R2", b""], "employees": [b"10", b"", b"7"]}


def test_quoted_commas_and_utf8_survive_when_read(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('id,name\nA1,"Müller, Söhne ""GmbH"""\n', encoding="utf-8")
    names = read_csv_columns(path, ["name"], ["id"])["name"]
    assert names[0].decode("utf-8") == 'Müller, Söhne "GmbH"'


def test_ragged_row_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,name\nA1,x\nA2,x,extra\n")
    with pytest.raises(CsvInputError) as caught:
        read_accounts_csv(path)
    assert caught.value.line == 3 and "3 fields, but the header has 2" in caught.value.problem


def test_accounts_numbers_parse_when_plain_or_decimal(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,employees,annual_revenue\nA1,10,1.5e6\nA2,,2500000\nA3,007,\n")
    table = read_accounts_csv(path)
    assert table.employees.tolist()[0] == 10.0 and np.isnan(table.employees[1]) and table.employees[2] == 7.0
    assert table.annual_revenue.tolist()[:2] == [1_500_000.0, 2_500_000.0]


def test_empty_account_id_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,name\nA1,x\n,y\n")
    with pytest.raises(CsvInputError) as caught:
        read_accounts_csv(path)
    assert caught.value.line == 3 and "empty id" in caught.value.problem


def test_opportunities_booleans_parse_and_bad_one_is_located(tmp_path: Path) -> None:
    path = tmp_path / "o.csv"
    path.write_text("id,account_id,owner_id,amount,stage,is_closed\nO1,A1,R1,10,x,TRUE\nO2,A1,,,,\nO3,A2,R2,5,y,no\n")
    assert read_opportunities_csv(path).is_closed.tolist() == [True, False, False]
    path.write_text("id,account_id,is_closed\nO1,A1,maybe\n")
    with pytest.raises(CsvInputError) as caught:
        read_opportunities_csv(path)
    assert caught.value.line == 2 and "'maybe' is not true/false" in caught.value.problem


def test_reps_accept_planner_shape_and_ours(tmp_path: Path) -> None:
    planner = tmp_path / "planner.csv"
    planner.write_text("id,name,lat,lon,capacity,active,industries,target_weight\nR1,One,1,2,150,false,MedTech,1\nR2,Two,1,2,,true,,1\n")
    reps = read_reps_csv(planner)
    assert [(r.id, r.active, r.capacity, r.is_partner) for r in reps] == [("R1", False, 150.0, False), ("R2", True, None, False)]
    ours = tmp_path / "reps.csv"
    ours.write_text("id,name,active,is_partner\nR9,Nine,,yes\n")
    assert read_reps_csv(ours)[0].is_partner is True


def test_fast_writer_matches_csv_module_when_reasons_need_quoting(tmp_path: Path) -> None:
    rules = parse_rules("version: 1\nterritories: [{id: T1, owner: 'R,1', match: {country: [DE]}}, {id: T2, owner: R2, match: {industry: [X]}}]\n")
    accounts_path = tmp_path / "a.csv"
    accounts_path.write_text('id,owner_id,country,industry\nA1,R2,DE,X\n"A,2",,FR,\nA3,"R,1",DE,\n')
    evaluation = evaluate(read_accounts_csv(accounts_path), rules)
    out = tmp_path / "d.csv"
    write_decisions_csv(out, evaluation)
    assert out.read_text() == decisions_to_csv_text(evaluation)
    rows = list(csv.reader(out.open()))
    assert rows[2][:2] == ["A,2", ""] and rows[1][3] == "T1;T2"


def test_long_or_signed_numbers_fall_back_to_float_parsing(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,employees,annual_revenue\nA1,-5,12345678901234567\nA2,3,0012\n")
    table = read_accounts_csv(path)
    assert table.employees.tolist() == [-5.0, 3.0]
    assert table.annual_revenue.tolist() == [12345678901234567.0, 12.0]


def test_duplicate_account_id_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,name\nA1,x\nA2,y\nA1,z\n")
    with pytest.raises(CsvInputError) as caught:
        read_accounts_csv(path)
    assert caught.value.line == 4 and "duplicate id 'A1' (also on line 2)" in caught.value.problem
