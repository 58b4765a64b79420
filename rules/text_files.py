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
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|", "\\t": "\t"}
DECIMAL_STYLES = ("point", "comma")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with byte-order mark", "utf-16": "UTF-16", "utf-32": "UTF-32",
           "cp1252": "cp1252 (Windows Western European)", "latin-1": "latin-1 (ISO 8859-1)"}
_WESTERN = ("cp1252", "latin_1", "iso8859_1", "iso8859_15")
_CHAOS_MARGIN = 0.05  # guesses within this much of the best one's mess ratio fit as well
_SAMPLE_BYTES = 1 << 18
_SNIFF_LINES = 50
_CHUNK = 1 << 22


class TextFileError(ValueError):
    """A file that cannot be read as written. Attributes: ``path``, ``line`` (1-based; 0 when
    the whole file is meant) and ``problem`` (what is wrong and what to do)."""

    def __init__(self, path: str, line: int, problem: str) -> None:
        self.path, self.line, self.problem = path, line, problem
        super().__init__(f"{path}, line {line}: {problem}" if line else f"{path}: {problem}")


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


@dataclass(frozen=True)
class Encoding:
    """The encoding a file is read with.

    Attributes:
        codec: Python codec that decodes the whole file (a BOM codec skips its mark).
        label: Its name for people.
        utf8_offset: Where UTF-8 text starts in the raw bytes (after a BOM) when the bytes are
            UTF-8 as they are; ``None`` when they must be decoded.
        note: What to tell the user when the encoding was assumed, not known.
    """

    codec: str
    label: str
    utf8_offset: int | None = None
    note: str | None = None


def detect_encoding(raw: bytes | memoryview, source: str, given: str | None = None) -> Encoding:
    """Choose the encoding of ``raw`` (see the module docstring for the order).

    Raises:
        TextFileError: unknown ``given`` codec, a damaged UTF-8 file (at the bad byte's line)
            or an encoding that cannot be told without the user.
    """
    view = memoryview(raw)
    if given:
        return _given_encoding(given, bytes(view[:4]), source)
    head = bytes(view[:4])
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return Encoding(codec, _LABELS[codec], len(bom) if codec == "utf-8-sig" else None)
    bad = _first_bad_utf8(view)
    if bad is None:
        return Encoding("utf-8", "UTF-8", 0)
    return _guess_encoding(bytes(view), bad, source)


def _given_encoding(given: str, head: bytes, source: str) -> Encoding:
    try:
        name = codecs.lookup(given).name
    except LookupError:
        raise TextFileError(source, 0, f"unknown encoding {given!r}; use e.g. utf-8, cp1252, latin-1 or utf-16") from None
    if name in ("utf-8", "utf-8-sig"):
        return Encoding("utf-8-sig", "UTF-8", len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0)
    if name in ("utf-16-le", "utf-16-be") and head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        name = "utf-16"  # the mark says the byte order; the plain codec would keep it as text
    return Encoding(name, _LABELS.get(name, name))


def _first_bad_utf8(view: memoryview) -> int | None:
    """Offset of the first byte that is not valid UTF-8, or None; chunk by chunk, so a big
    file is never held as one string (plain ASCII chunks are only checked, not decoded)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    for start in range(0, len(view), _CHUNK):
        chunk = bytes(view[start:start + _CHUNK])
        pending = decoder.getstate()[0]
        if not pending and chunk.isascii():
            continue
        try:
            decoder.decode(chunk, final=start + _CHUNK >= len(view))
        except UnicodeDecodeError as exc:
            return start - len(pending) + exc.start
    return None


def _line_at(raw: bytes | memoryview, offset: int, codec: str) -> int:
    """1-based line of the byte at ``offset`` (the bytes before it are valid in ``codec``)."""
    before = bytes(raw[:offset])
    if codec.replace("_", "-").startswith(("utf-16", "utf-32")):
        return before.decode(codec, "replace").count("\n") + 1
    return before.count(b"\n") + 1


_VALID_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _guess_encoding(raw: bytes, bad: int, source: str) -> Encoding:
    if b"\x00" in raw[:4096]:
        return _guessed_wide(raw, source)
    invalid = sum(1 for byte in raw if byte > 0x7F) - sum(len(m) for m in _VALID_MULTIBYTE.findall(raw))
    valid = len(_VALID_MULTIBYTE.findall(raw))
    if valid > invalid:
        raise TextFileError(source, _line_at(raw, bad, "utf-8"), (
            f"byte 0x{raw[bad]:02x} is not UTF-8, though the rest of the file is: the file is damaged there; "
            "fix or retype that character (or give the encoding if the whole file is in another one)"))
    lines = [(number, line) for number, line in enumerate(raw.split(b"\n"), 1) if not line.isascii()]
    sample = b"\n".join(line for _, line in lines)[:_SAMPLE_BYTES]
    from charset_normalizer import from_bytes  # only files that are not UTF-8 need it

    matches = list(from_bytes(sample))
    if not matches:
        raise _unsure(source, "no known encoding decodes it")
    fitting = [m for m in matches if m.chaos <= matches[0].chaos + _CHAOS_MARGIN]
    western = next((m for m in fitting if set(m.could_be_from_charset) & set(_WESTERN)), None)
    if western is None:
        raise _unsure(source, f"it looks like {matches[0].encoding}")
    codec = "cp1252" if "cp1252" in western.could_be_from_charset else "latin-1"
    others = [m for m in fitting if m is not western and m.encoding not in western.could_be_from_charset]
    return Encoding(codec, _LABELS[codec], None, _assumed_note(codec, lines, others))


def _guessed_wide(raw: bytes, source: str) -> Encoding:
    """UTF-16/32 without a byte-order mark (NUL bytes between ASCII letters)."""
    from charset_normalizer import from_bytes

    best = from_bytes(raw[: _SAMPLE_BYTES & ~3]).best()
    if best is None or not best.encoding.startswith(("utf_16", "utf_32")):
        raise _unsure(source, "it holds NUL bytes but is not UTF-16 or UTF-32")
    codec = best.encoding.replace("_", "-")
    note = f"read as {codec.upper()} (assumed: the file has no byte-order mark); give the encoding if it reads wrong"
    return Encoding(codec, codec.upper(), None, note)


def _assumed_note(codec: str, lines: list[tuple[int, bytes]], others: list) -> str:
    note = f"read as {_LABELS[codec]}: assumed, the file is not UTF-8"
    for other in others[:1]:
        for number, line in lines:
            mine, theirs = line.decode(codec, "replace"), line.decode(other.encoding, "replace")
            if mine != theirs:
                note += (f"; {other.encoding} would fit too and read line {number} as {theirs.strip()[:60]!r} "
                         f"instead of {mine.strip()[:60]!r}")
                break
    return note + "; give the encoding if names read wrong"


def _unsure(source: str, why: str) -> TextFileError:
    return TextFileError(source, 0, (
        f"cannot tell the file's encoding ({why}); give it, e.g. cp1252 for Windows Excel 'CSV', "
        "utf-16 for Excel 'Unicode text', or save the file as 'CSV UTF-8'"))


def decode(raw: bytes | memoryview, encoding: Encoding, source: str) -> str:
    """The whole file as text in ``encoding`` (without a byte-order mark).

    Raises:
        TextFileError: at the line of the first byte the encoding cannot read.
    """
    data = bytes(raw)
    try:
        text = data.decode(encoding.codec)
    except UnicodeDecodeError as exc:
        line = _line_at(data, exc.start, encoding.codec)
        raise TextFileError(source, line, (
            f"byte 0x{data[exc.start]:02x} cannot be read as {encoding.label}; fix that character, or give the "
            "file's real encoding (cp1252 for Windows Excel 'CSV', utf-16 for Excel 'Unicode text')")) from None
    except UnicodeError as exc:  # e.g. UTF-16 with an odd number of bytes
        raise TextFileError(source, 0, f"cannot be read as {encoding.label} ({exc}); give the file's real encoding") from None
    return text[1:] if text.startswith("\ufeff") else text


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
    _numbers: _NumberEvidence | None = field(default=None, init=False, repr=False)

    @property
    def header(self) -> list[str]:
        """The column names of line 1, stripped."""
        first = self.text.split("\n", 1)[0].rstrip("\r")
        return [name.strip() for name in _split_line(first, self.delimiter)]

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """``(line, fields)`` for every record below the header; blank lines are skipped.

        Raises:
            TextFileError: a malformed record (at its line).
        """
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        line = 1
        try:
            next(reader, None)
            for fields in reader:
                start, line = line + 1, reader.line_num
                if fields and any(value.strip() for value in fields):
                    yield start, fields
        except csv.Error as exc:
            raise TextFileError(self.source, line + 1, f"malformed CSV: {exc}") from None

    def parse_number(self, text: str, *, line: int, column: str) -> float | None:
        """A number field as a float (empty: None).

        Raises:
            TextFileError: not a number, or ``1.234``-like with nothing telling how to read it.
        """
        style = self.options.decimal
        try:
            return parse_number(text, style)
        except AmbiguousNumber:
            pass
        except ValueError:
            hint = f" written with a decimal {style}" if style else ""
            raise TextFileError(self.source, line, f"column {column}: {text.strip()!r} is not a number{hint}") from None
        if self._numbers is None:
            self._numbers = _NumberEvidence.of(self)
        return parse_number(text, self._numbers.style_for(text.strip(), line, column))


class AmbiguousNumber(ValueError):
    """``1.234``/``1,234`` without a style: a thousands separator or a decimal one."""


_NUMBER_FORMS = {
    "ambiguous": re.compile(r"[+-]?[1-9]\d{0,2}[.,]\d{3}"),
    "point": re.compile(r"[+-]?([1-9]\d{0,2}(,\d{3})+(\.\d*)?|\d*\.\d+|\d+\.)([eE][+-]?\d+)?"),
    "comma": re.compile(r"[+-]?([1-9]\d{0,2}(\.\d{3})+(,\d*)?|\d*,\d+|\d+,)"),
    "plain": re.compile(r"[+-]?\d+([eE][+-]?\d+)?"),
}


def number_form(text: str) -> str | None:
    """How a stripped value writes its number: ``plain`` (no separator), ``point``,
    ``comma``, ``ambiguous``; None when it is no number of these forms."""
    for form, pattern in _NUMBER_FORMS.items():
        if pattern.fullmatch(text):
            return form
    return None


def parse_number(text: str, style: str | None = None) -> float | None:
    """Parse one value; ``style`` (point/comma) decides ambiguous values (and only those
    when None: unambiguous ones say how they are written). Empty gives None.

    Raises:
        AmbiguousNumber: ``1.234``-like and no style.
        ValueError: not a number (in ``style``, when given).
    """
    value = text.strip()
    if not value:
        return None
    form = number_form(value)
    if form == "ambiguous":
        if style is None:
            raise AmbiguousNumber(value)
        form = style
    elif style is not None and form in DECIMAL_STYLES and form != style:
        raise ValueError(value)
    if form == "point":
        return float(value.replace(",", ""))
    if form == "comma":
        return float(value.replace(".", "").replace(",", "."))
    return float(value)  # plain, or what Python reads as a number (inf, 1_000): callers check ranges


@dataclass(frozen=True)
class _NumberEvidence:
    """The first line that writes decimals each way, over the file's numeric columns."""

    source: str
    point: tuple[int, str] | None
    comma: tuple[int, str] | None

    @classmethod
    def of(cls, file: TextFile) -> _NumberEvidence:
        """Only columns that hold numbers throughout count: ids and names say nothing."""
        width = len(file.header)
        numeric = [True] * width
        first: list[dict[str, tuple[int, str]]] = [{} for _ in range(width)]
        for line, fields in file.records():
            for index, value in enumerate(fields[:width]):
                value = value.strip()
                if not numeric[index] or not value:
                    continue
                form = number_form(value)
                if form is None:
                    numeric[index] = False
                elif form in DECIMAL_STYLES:
                    first[index].setdefault(form, (line, value))
        seen = [first[i] for i in range(width) if numeric[i]]
        point = min((s["point"] for s in seen if "point" in s), default=None)
        comma = min((s["comma"] for s in seen if "comma" in s), default=None)
        return cls(file.source, point, comma)

    def style_for(self, value: str, line: int, column: str) -> str:
        if self.point and self.comma:
            raise TextFileError(self.source, line, (
                f"column {column}: {value!r} is ambiguous: line {self.point[0]} writes {self.point[1]!r} "
                f"with a decimal point, line {self.comma[0]} {self.comma[1]!r} with a decimal comma; "
                "write it without a thousands separator, or say which (--decimal point|comma)"))
        if self.point or self.comma:
            return "point" if self.point else "comma"
        raise TextFileError(self.source, line, (
            f"column {column}: {value!r} could be a thousand-something or a decimal and nothing else in the file "
            "tells which; write it without a thousands separator (1234 or 1,234 vs 1.234), or say how the file "
            "writes decimals (--decimal point|comma)"))


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
        raise TextFileError(source, 0, f"cannot read the file ({exc.strerror or exc}); check the path") from None
    return decode_text_file(raw, source, options, known)
