"""Read delimited text files the way spreadsheets and CRM exports write them.

Admins bring CSVs saved by German Excel ("CSV (Trennzeichen-getrennt)": cp1252, ``;``,
decimal commas), Excel's "Unicode text" (UTF-16 with tabs), "CSV UTF-8" (with a byte-order
mark) and CRM exports. This module finds out how such a file is written and hands the
readers plain text, so every reader of the project answers the same for the same file.

Public API (what other readers build on):

- :class:`ReadOptions`: what the user said (``--encoding``, ``--delimiter``, ``--decimal``);
  ``None`` everywhere means "find out from the file".
- :func:`read_text_file` / :func:`decode_text_file`: a file (or its bytes) into a
  :class:`TextFile`: decoded text, header, records with their line numbers, the encoding and
  separator used, and ``notes`` to show the user when something was assumed.
- :meth:`TextFile.parse_number`: a number field, with decimal commas and thousands separators
  accepted where the file shows unambiguously how it writes them.
- :func:`detect_encoding`, :func:`decode`, :func:`detect_delimiter`: the steps on their own,
  for readers with a faster path of their own (``rules.csv_columns``).
- :class:`ReadReport`: notes and missing optional columns gathered over a command's files.
- :class:`TextFileError`: every problem, with the file, the 1-based line (0: the whole file)
  and what to do.

How the encoding is chosen: the user's ``encoding``; else a byte-order mark (UTF-8, UTF-16,
UTF-32); else UTF-8 when the bytes are valid UTF-8; else charset-normalizer guesses. A file
that is UTF-8 except for a few bytes is reported at the line of the first bad byte (it is a
damaged UTF-8 file, not another encoding); cp1252 (or latin-1) is assumed, with a note, when
it is among the guesses that fit; any other guess needs ``encoding`` from the user.

The separator: the user's ``delimiter``; else :class:`csv.Sniffer` over the first lines among
``,`` ``;`` tab and ``|``, checked against the column names the reader knows.

Numbers: ``1.5``, ``1,5``, ``1.234,5``, ``1,234.5``, ``1.234.567`` and ``1,234,567`` each say
how they are written. Only a value such as ``1.234`` or ``1,234`` (one separator, three
digits after it) can mean two things; it is read the way the file's other numbers show
(numeric columns only), or the user's ``decimal``; when nothing tells, it is an error at its
line, never a silent guess.

The encoding steps live in :mod:`rules.text_encoding` and the numbers in
:mod:`rules.text_numbers`; import everything from here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from territory.rules.errors import NotANumber, TextFileError
from territory.rules.text_encoding import Encoding, decode, detect_encoding
from territory.rules.text_numbers import (
    DECIMAL_STYLES,
    AmbiguousNumber,
    NumberEvidence,
    number_form,
    parse_number,
)

__all__ = [
    "DECIMAL_STYLES",
    "DELIMITERS",
    "AmbiguousNumber",
    "Encoding",
    "NotANumber",
    "ReadOptions",
    "ReadReport",
    "TextFile",
    "TextFileError",
    "decode",
    "decode_text_file",
    "detect_delimiter",
    "detect_encoding",
    "normalize_delimiter",
    "number_form",
    "parse_number",
    "read_text_file",
]

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|", "\\t": "\t"}
_SNIFF_LINES = 50


@dataclass(frozen=True)
class ReadOptions:
    """How a file is written, as far as the user said; ``None`` means detect it.

    Attributes:
        encoding: A Python codec name (``utf-8``, ``cp1252``, ``utf-16``...).
        delimiter: One character, or ``comma``/``semicolon``/``tab``/``pipe``.
        decimal: ``point`` (1,234.5) or ``comma`` (1.234,5) for numbers that could be either.
    """

    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None

    def __post_init__(self) -> None:
        if self.decimal is not None and self.decimal not in DECIMAL_STYLES:
            raise ValueError(f"decimal must be point or comma, not {self.decimal!r}")


def normalize_delimiter(given: str) -> str:
    """``;``, ``tab``, ``\\t``... as the one separator character.

    Raises:
        ValueError: not one character nor a known name.
    """
    value = DELIMITER_NAMES.get(given.lower(), given)
    if len(value) != 1 or value in "\"\r\n":
        raise ValueError(f"delimiter must be one character or comma/semicolon/tab/pipe, not {given!r}")
    return value


def detect_delimiter(head: str, known: Sequence[str] = (), given: str | None = None) -> str:
    """The separator of text whose first lines are ``head``.

    :class:`csv.Sniffer` picks among ``, ; tab |``; when the header split another way names
    more of the ``known`` columns, that way wins (a sniffer can be fooled by decimal commas).
    A single column gives ``,``.
    """
    if given:
        return normalize_delimiter(given)
    sample = "\n".join(head.splitlines()[:_SNIFF_LINES])
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    header = sample.split("\n", 1)[0]
    if known:
        wanted = set(known)
        score = {d: len(wanted & {name.strip() for name in _split_line(header, d)}) for d in DELIMITERS}
        best = max(DELIMITERS, key=lambda d: score[d])
        if score[best] and (sniffed is None or score.get(sniffed, 0) < score[best]):
            return best
    return sniffed or ","


def _split_line(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


@dataclass
class TextFile:
    """A delimited text file, decoded. Build with :func:`read_text_file`.

    Attributes:
        source: The file name used in messages.
        text: The whole text (no byte-order mark).
        delimiter: The field separator.
        encoding: How the bytes were decoded.
        options: What the user said.
        notes: Things assumed that the user should hear (the encoding, ...).
    """

    source: str
    text: str
    delimiter: str
    encoding: Encoding
    options: ReadOptions = field(default_factory=ReadOptions)
    notes: list[str] = field(default_factory=list)
    _numbers: NumberEvidence | None = field(default=None, init=False, repr=False)

    _rows: list[tuple[int, list[str]]] | None = field(default=None, init=False, repr=False)

    @property
    def header(self) -> list[str]:
        """The column names of line 1, stripped."""
        end = self.text.find("\n")
        first = (self.text if end < 0 else self.text[:end]).rstrip("\r")
        return [name.strip() for name in _split_line(first, self.delimiter)]

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """``(line, fields)`` for every record below the header; blank lines are skipped.

        The file is split once (on first use) and kept.

        Raises:
            TextFileError: a malformed record (at its line).
        """
        if self._rows is None:
            self._rows = self._split_records()
        return iter(self._rows)

    def _split_records(self) -> list[tuple[int, list[str]]]:
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        rows = []
        line = 1
        try:
            next(reader, None)
            for fields in reader:
                start, line = line + 1, reader.line_num
                if any(value.strip() for value in fields):
                    rows.append((start, fields))
        except csv.Error as exc:
            raise TextFileError(self.source, line + 1, f"malformed CSV: {exc}") from None
        return rows

    def parse_number(self, text: str, *, line: int, column: str) -> float | None:
        """A number field as a float (empty: None).

        Raises:
            NotANumber: not a number (a :class:`TextFileError`).
            TextFileError: ``1.234``-like with nothing telling how to read it.
        """
        style = self.options.decimal
        try:
            return parse_number(text, style)
        except AmbiguousNumber:
            pass
        except ValueError:
            hint = f" written with a decimal {style}" if style else ""
            raise NotANumber(self.source, line, f"column {column}: {text.strip()!r} is not a number{hint}") from None
        if self._numbers is None:
            self._numbers = NumberEvidence.of(self.source, len(self.header), self.records())
        return parse_number(text, self._numbers.style_for(text.strip(), line, column))


@dataclass
class ReadReport:
    """What reading a command's input files found worth telling the user.

    Attributes:
        notes: Assumptions made (``file: read as cp1252 ...``), in reading order.
        missing: For each file, the optional columns its reader knows that the file lacks.
    """

    notes: list[str] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)

    def add(self, source: str, notes: Sequence[str], header: Sequence[str], optional: Sequence[str]) -> None:
        """Record one file's notes and which of the ``optional`` columns its ``header`` lacks."""
        self.notes.extend(note for note in notes if note not in self.notes)
        self.missing[source] = [name for name in optional if name not in header]


def decode_text_file(raw: bytes | memoryview, source: str, options: ReadOptions | None = None,
                     known: Sequence[str] = ()) -> TextFile:
    """Like :func:`read_text_file` for bytes already read."""
    options = options or ReadOptions()
    encoding = detect_encoding(raw, source, options.encoding)
    text = decode(raw, encoding, source)
    delimiter = detect_delimiter(text[:1 << 16], known, options.delimiter)
    notes = [f"{source}: {encoding.note}"] if encoding.note else []
    return TextFile(source, text, delimiter, encoding, options, notes)


def read_text_file(path: str | Path, options: ReadOptions | None = None, known: Sequence[str] = ()) -> TextFile:
    """Read and decode a delimited text file.

    Args:
        path: The file.
        options: What the user said about the encoding, separator and decimals.
        known: Column names the caller understands (they help tell the separator).

    Raises:
        TextFileError: unreadable file, unknown or undecidable encoding, a bad byte (at its line).
    """
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise TextFileError(source, 0, f"cannot open the file ({exc.strerror or exc}); check the path") from None
    return decode_text_file(raw, source, options, known)
