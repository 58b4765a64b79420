"""rules.text_files: files as German Excel, Excel 'Unicode text' and CRM exports write them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from territory.rules.text_files import (
    AmbiguousNumber,
    ReadOptions,
    TextFileError,
    detect_delimiter,
    parse_number,
    read_text_file,
)

ROWS = [["id", "name", "city", "revenue"], ["A1", "Müller GmbH", "München", "1.234.567,50"],
        ["A2", "Bäckerei Groß", "Köln", "12,5"], ["A3", "Café Zoë", "Düsseldorf", "250"]]


def _write(path: Path, rows: list[list[str]], delimiter: str, encoding: str, newline: str = "\r\n") -> Path:
    path.write_bytes("".join(delimiter.join(row) + newline for row in rows).encode(encoding))
    return path


def _records(path: Path, **options: str) -> list[tuple[int, list[str]]]:
    return list(read_text_file(path, ReadOptions(**options)).records())


def test_excel_unicode_text_is_read_as_utf16_with_tabs(tmp_path: Path) -> None:
    file = read_text_file(_write(tmp_path / "unicode.txt", ROWS, "\t", "utf-16"))
    assert (file.encoding.codec, file.delimiter, file.notes) == ("utf-16", "\t", [])
    assert file.header == ROWS[0]
    assert [fields for _, fields in file.records()] == ROWS[1:]


def test_german_excel_csv_is_read_as_cp1252_with_semicolons_and_a_note(tmp_path: Path) -> None:
    file = read_text_file(_write(tmp_path / "excel.csv", ROWS, ";", "cp1252"), known=ROWS[0])
    assert (file.encoding.codec, file.delimiter) == ("cp1252", ";")
    assert len(file.notes) == 1 and "cp1252" in file.notes[0] and "assumed" in file.notes[0]
    assert [fields[1] for _, fields in file.records()] == ["Müller GmbH", "Bäckerei Groß", "Café Zoë"]
    values = [file.parse_number(fields[3], line=line, column="revenue") for line, fields in file.records()]
    assert values == [1234567.5, 12.5, 250.0]


def test_utf8_with_byte_order_mark_reads_the_first_column_name_cleanly(tmp_path: Path) -> None:
    file = read_text_file(_write(tmp_path / "bom.csv", ROWS, ",", "utf-8-sig"))
    assert file.header[0] == "id" and file.encoding.utf8_offset == 3 and not file.notes


def test_a_bad_byte_in_a_utf8_file_is_reported_at_its_line(tmp_path: Path) -> None:
    raw = "\n".join(",".join(row) for row in ROWS).encode() + b"\nA4,Bad \xff byte,Berlin,1\nA5,Fine,Ulm,2\n"
    (tmp_path / "bad.csv").write_bytes(raw)
    with pytest.raises(TextFileError) as caught:
        read_text_file(tmp_path / "bad.csv")
    assert caught.value.line == 5 and "0xff" in caught.value.problem


def test_a_bad_byte_is_reported_at_its_line_with_a_given_encoding(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_bytes(b"id,name\nA1,x\nA2,\x81\n")
    with pytest.raises(TextFileError) as caught:
        read_text_file(tmp_path / "bad.csv", ReadOptions(encoding="cp1252"))
    assert caught.value.line == 3


def test_an_encoding_that_cannot_be_told_asks_for_one(tmp_path: Path) -> None:
    text = "id;name\nA1;Иванов Сергей Петрович\nA2;Санкт-Петербург Москва\n"
    (tmp_path / "ru.csv").write_bytes(text.encode("cp1251"))
    with pytest.raises(TextFileError, match="cannot tell the file's encoding"):
        read_text_file(tmp_path / "ru.csv")
    file = read_text_file(tmp_path / "ru.csv", ReadOptions(encoding="cp1251"))
    assert [f[1] for _, f in file.records()][0] == "Иванов Сергей Петрович"


def test_an_unknown_encoding_name_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TextFileError, match="unknown encoding"):
        read_text_file(_write(tmp_path / "a.csv", ROWS, ",", "utf-8"), ReadOptions(encoding="klingon"))


def test_ambiguous_thousands_are_rejected_at_their_line_unless_the_file_or_user_tells(tmp_path: Path) -> None:
    rows = [["id", "revenue"], ["A1", "250"], ["A2", "1.234"]]
    file = read_text_file(_write(tmp_path / "amb.csv", rows, ";", "utf-8"))
    with pytest.raises(TextFileError) as caught:
        [file.parse_number(f[1], line=line, column="revenue") for line, f in file.records()]
    assert caught.value.line == 3 and "1.234" in caught.value.problem
    told = read_text_file(tmp_path / "amb.csv", ReadOptions(decimal="comma"))
    assert [told.parse_number(f[1], line=n, column="revenue") for n, f in told.records()] == [250.0, 1234.0]
    shown = read_text_file(_write(tmp_path / "shown.csv", [*rows, ["A3", "0,5"]], ";", "utf-8"))
    assert [shown.parse_number(f[1], line=n, column="revenue") for n, f in shown.records()] == [250.0, 1234.0, 0.5]


def test_numbers_in_text_columns_do_not_decide_how_decimals_are_written(tmp_path: Path) -> None:
    rows = [["id", "note", "revenue"], ["A1", "2.5", "1.234"], ["A2", "call back", "12"]]
    file = read_text_file(_write(tmp_path / "notes.csv", rows, ";", "utf-8"))
    with pytest.raises(TextFileError, match="nothing else in the file"):
        [file.parse_number(f[2], line=n, column="revenue") for n, f in file.records()]


def test_mixed_decimal_styles_make_an_ambiguous_value_an_error_naming_both_lines(tmp_path: Path) -> None:
    rows = [["id", "a", "b"], ["A1", "2.5", "3,5"], ["A2", "1.234", "1"]]
    file = read_text_file(_write(tmp_path / "mixed.csv", rows, ";", "utf-8"))
    with pytest.raises(TextFileError, match="line 2 writes '2.5'"):
        [file.parse_number(f[1], line=n, column="a") for n, f in file.records()]


@pytest.mark.parametrize(("header", "delimiter"), [("id,name,amount", ","), ("id;name;amount", ";"), ("id\tname\tamount", "\t")])
def test_the_separator_is_detected(header: str, delimiter: str) -> None:
    body = "\n".join(delimiter.join(["A1", "x", "1,5" if delimiter != "," else "1"]) for _ in range(3))
    assert detect_delimiter(header + "\n" + body, known=("id", "name", "amount")) == delimiter


def test_decimal_commas_do_not_fool_the_separator_detection() -> None:
    text = "id;amount\nA1;1,5\nA2;2,5\n"
    assert detect_delimiter(text, known=("id", "amount")) == ";"
    assert detect_delimiter("id\nA1\n") == ","


def test_a_given_delimiter_name_is_used() -> None:
    assert detect_delimiter("a,b\n", given="tab") == "\t"
    with pytest.raises(ValueError):
        detect_delimiter("a,b\n", given=";;")


def test_records_carry_their_physical_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "q.csv").write_text('id,name\nA1,"two\nlines"\n\nA2,x\n', encoding="utf-8")
    assert _records(tmp_path / "q.csv") == [(2, ["A1", "two\nlines"]), (5, ["A2", "x"])]


@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_german_and_english_grouped_numbers_read_the_same(whole: int, cents: int) -> None:
    english = f"{whole:,}.{cents:02d}"
    german = english.replace(",", " ").replace(".", ",").replace(" ", ".")
    expected = float(f"{whole}.{cents:02d}")
    assert parse_number(english) == parse_number(german) == expected
    assert parse_number(english, "point") == parse_number(german, "comma") == expected


@given(st.integers(min_value=1, max_value=999), st.integers(min_value=0, max_value=999))
def test_one_separator_and_three_digits_is_never_guessed(head: int, tail: int) -> None:
    with pytest.raises(AmbiguousNumber):
        parse_number(f"{head}.{tail:03d}")
    assert parse_number(f"{head}.{tail:03d}", "comma") == head * 1000 + tail
