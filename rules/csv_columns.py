"""Read a CSV file into numpy byte columns: a vectorised fast path and a csv-module path.

The fast path handles the common export shape (no quote characters, one record per line,
``\\n`` or ``\\r\\n`` endings): the whole file is one byte array, separators are found
with one comparison, and each wanted column is gathered with array indexing. Anything else
(quotes, ragged rows, blank lines) goes through the standard ``csv`` module, which also
produces the precise error for a malformed row.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from territory.rules.errors import CsvInputError
from territory.rules.text_files import (
    Encoding,
    ReadOptions,
    TextFile,
    TextFileError,
    decode,
    detect_delimiter,
    detect_encoding,
    number_form,
)

_DIGITS_MAX = 15  # longer digit strings may exceed float64's exact integers


@dataclass
class CsvColumns:
    """The wanted columns of one file plus what reading it found.

    Attributes:
        source: The file name for messages.
        columns: The wanted columns present in the file, as UTF-8 byte arrays.
        header: Every column name of the file.
        notes: Things assumed while reading (the encoding) that the user should hear.
    """

    source: str
    columns: dict[str, np.ndarray]
    header: list[str]
    notes: list[str]
    _body: np.ndarray | None = field(default=None, repr=False)  # a view of the read buffer
    _delimiter: str = ","
    _encoding: Encoding | None = None
    _options: ReadOptions = field(default_factory=ReadOptions)
    _text: TextFile | None = field(default=None, repr=False)

    def numbers(self, name: str) -> np.ndarray:
        """Column ``name`` as floats (missing column or empty value: NaN); see :func:`parse_numbers`."""
        values = self.columns.get(name)
        if values is None:
            values = np.zeros(len(next(iter(self.columns.values()), ())), dtype="S1")
        return parse_numbers(self.source, name, values, self)

    def text_file(self) -> TextFile:
        """The whole file as a :class:`TextFile` (built on first use: only numbers that could
        be read two ways need the rest of the file)."""
        if self._text is None:
            header = (self._delimiter.join(self.header) + "\n").encode("utf-8")
            body = b"" if self._body is None else self._body.tobytes()
            text = (header + body).decode("utf-8")
            self._text = TextFile(self.source, text, self._delimiter, self._encoding or Encoding("utf-8", "UTF-8", 0), self._options)
        return self._text


def read_csv_columns(path: str | Path, wanted: Sequence[str], required: Sequence[str]) -> dict[str, np.ndarray]:
    """The ``wanted`` columns present in the file, as UTF-8 byte arrays (header order free).

    Raises:
        CsvInputError: unreadable file, missing required column, or a malformed row.
    """
    return read_csv_file(path, wanted, required).columns


def read_csv_file(path: str | Path, wanted: Sequence[str], required: Sequence[str],
                  options: ReadOptions | None = None) -> CsvColumns:
    """Read the ``wanted`` columns of a delimited file in any encoding and separator that
    :mod:`rules.text_files` understands; plain UTF-8 stays on the vectorised path.

    Raises:
        CsvInputError: unreadable file or byte, missing required column, or a malformed row.
    """
    source = str(path)
    options = options or ReadOptions()
    try:
        buffer = _read_padded(Path(path))
    except OSError as exc:
        raise CsvInputError(source, 1, f"cannot read the file: {exc.strerror or exc}") from exc
    size = len(buffer) - _PAD
    try:
        encoding = detect_encoding(buffer.data[:size], source, options.encoding)
        start = encoding.utf8_offset
        if start is None:  # not UTF-8 as it is: decode once, then read the UTF-8 copy
            text = decode(buffer.data[:size], encoding, source).encode("utf-8")
            buffer, size, start = _padded(text), len(text), 0
        head = bytes(buffer[start: min(size, start + (1 << 16))]).decode("utf-8", "ignore")
        delimiter = detect_delimiter(head, wanted, options.delimiter)
    except TextFileError as exc:
        raise CsvInputError(source, exc.line or 1, exc.problem) from None
    except ValueError as exc:  # a --delimiter that is no single character
        raise CsvInputError(source, 1, str(exc)) from None
    header_end = head.find("\n")
    names = [name.strip() for name in next(csv.reader([head if header_end < 0 else head[:header_end]], delimiter=delimiter), [])]
    missing = [name for name in required if name not in names]
    if missing:
        raise CsvInputError(source, 1, f"missing column(s) {', '.join(missing)}; the header has: {', '.join(names) or '(nothing)'}")
    positions = {name: names.index(name) for name in wanted if name in names}
    notes = [f"{source}: {encoding.note}"] if encoding.note else []
    found = CsvColumns(source, {}, names, notes, None, delimiter, encoding, options)
    if header_end < 0:
        found.columns = {name: np.zeros(0, dtype="S1") for name in positions}
        return found
    body_start = start + len(head[:header_end + 1].encode("utf-8"))
    if size > body_start and buffer[size - 1] != 10:
        buffer[size] = 10  # a missing final newline; the padding has room for it
        size += 1
    found._body = buffer[body_start:size]
    columns = _fast_columns(buffer, body_start, size, len(names), positions, delimiter) if len(delimiter.encode()) == 1 else None
    found.columns = columns if columns is not None else _csv_module_columns(source, found._body.tobytes(), names, positions, delimiter)
    return found


_PAD = 128


def _read_padded(path: Path) -> np.ndarray:
    """The file in a numpy byte buffer with zeroed padding after it (read once, no copies)."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        buffer = np.empty(size + _PAD, dtype=np.uint8)
        view = buffer.data
        done = 0
        while done < size:
            count = handle.readinto(view[done:size])
            if not count:
                break
            done += count
    buffer[done:] = 0
    return buffer[: done + _PAD]


def _padded(data: bytes) -> np.ndarray:
    buffer = np.zeros(len(data) + _PAD, dtype=np.uint8)
    buffer[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    return buffer


def _fast_columns(buffer: np.ndarray, body_start: int, size: int, width: int, positions: dict[str, int],
                  delimiter: str = ",") -> dict[str, np.ndarray] | None:
    """Vectorised split; None when the file is not in the simple shape."""
    data = buffer[body_start:size]
    found = _separator_positions(data, ord(delimiter))
    if found is None or len(found[0]) % width:
        return None
    separators, newlines = found
    ends = separators.reshape(-1, width)
    # Every row must end at a newline and hold no other: then the row's last separator is a
    # newline and there are exactly as many newlines as rows.
    if newlines != len(ends) or not np.all(data[ends[:, -1]] == 10):
        return None  # ragged rows or blank lines: let the csv module report them
    line_ends = ends[:, -1]
    carriage = (line_ends > 0) & (data[np.maximum(line_ends - 1, 0)] == 13)
    padded = buffer[body_start:]  # the padding after the data lets windows run past the end
    columns: dict[str, np.ndarray] = {}
    for name, index in positions.items():
        if index == 0:
            starts = np.empty(len(ends), dtype=ends.dtype)
            starts[:1] = 0
            starts[1:] = line_ends[:-1] + 1
        else:
            starts = ends[:, index - 1] + 1
        lengths = ends[:, index] - starts
        if index == width - 1:
            lengths = lengths - carriage
        columns[name] = _gather(padded, starts, lengths)
    return columns


def _separator_positions(data: np.ndarray, separator: int = 44) -> tuple[np.ndarray, int] | None:
    """Positions of separators (commas unless told) and newlines (and the number of newlines), found block by block
    in one reused buffer; None when the data contains a quote character (the csv module
    handles quoting).

    Working in blocks keeps the temporary mask small, which matters where touching fresh
    memory is slow (first-touch page faults on some virtual machines).
    """
    index_type = np.int32 if len(data) < 2**31 - 1 else np.int64
    block = 1 << 21
    is_separator = np.empty(min(block, len(data)), dtype=bool)
    is_newline = np.empty_like(is_separator)
    found = []
    newlines = 0
    for start in range(0, len(data), block):
        chunk = data[start:start + block]
        count = len(chunk)
        np.equal(chunk, 34, out=is_separator[:count])
        if is_separator[:count].any():
            return None
        np.equal(chunk, separator, out=is_separator[:count])
        np.equal(chunk, 10, out=is_newline[:count])
        newlines += int(np.count_nonzero(is_newline[:count]))
        np.logical_or(is_separator[:count], is_newline[:count], out=is_separator[:count])
        positions: np.ndarray = np.flatnonzero(is_separator[:count]).astype(index_type)
        positions += start
        found.append(positions)
    return (np.concatenate(found) if found else np.zeros(0, dtype=index_type)), newlines


_KEEP_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(8)] + [0xFFFFFFFFFFFFFFFF], dtype=np.uint64)


def _gather(padded: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Fixed-width byte strings ``padded[start:start+length]`` per row, NUL-padded.

    Each value is loaded as whole 8-byte words through an unaligned uint64 view of the
    buffer (one 1-D gather per word) and the bytes past its end are cleared with one AND
    (little-endian byte order).
    """
    rows = len(starts)
    longest = int(lengths.max()) if rows else 0
    if longest == 0:
        return np.zeros(rows, dtype="S1")
    width = -(-longest // 8) * 8
    if width > _PAD:
        padded = np.concatenate([padded, np.zeros(width, dtype=np.uint8)])
    as_words = np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    words = np.empty((rows, width // 8), dtype="<u8")
    offsets = starts.astype(np.int64)
    for column in range(width // 8):
        keep = _KEEP_BYTES[np.clip(lengths - 8 * column, 0, 8)]
        np.bitwise_and(as_words[offsets + 8 * column], keep, out=words[:, column])
    return words.view(f"S{width}").ravel()  # trailing NULs are padding for numpy bytes


def _csv_module_columns(source: str, raw: bytes, names: list[str], positions: dict[str, int],
                        delimiter: str = ",") -> dict[str, np.ndarray]:
    text = raw.decode("utf-8", "replace")
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)  # the body: the header is line 1
    values: dict[str, list[bytes]] = {name: [] for name in positions}
    try:
        for row in reader:
            if not row:
                continue  # a blank line is not a record
            if len(row) != len(names):
                raise CsvInputError(source, reader.line_num + 1, f"{len(row)} fields, but the header has {len(names)}; quote values that contain commas")
            for name, index in positions.items():
                values[name].append(row[index].encode("utf-8"))
    except csv.Error as exc:
        raise CsvInputError(source, reader.line_num + 1, f"malformed CSV: {exc}") from exc
    return {name: np.array(items, dtype=np.bytes_) if items else np.zeros(0, dtype="S1") for name, items in values.items()}


def parse_numbers(source: str, name: str, values: np.ndarray, file: CsvColumns | None = None) -> np.ndarray:
    """A byte column as floats (empty -> NaN), read as :meth:`TextFile.parse_number` reads
    numbers: decimal commas and thousands separators where unambiguous, ``1.234`` as the
    rest of ``file`` shows (or its ``--decimal``), else an error.

    Plain non-negative integers (the usual export) are parsed on the byte matrix, and plain
    decimals with numpy's float conversion; only the rest goes value by value.

    Raises:
        CsvInputError: naming the first row whose value is not a number (line = row + 2).
    """
    digits = _parse_digit_strings(values)
    if digits is not None:
        return digits
    decimal = file._options.decimal if file is not None else None
    if decimal != "comma" and not _needs_number_style(values):
        try:
            return np.where(values == b"", b"nan", values).astype(np.float64)
        except ValueError:
            pass
    text = file.text_file() if file is not None else TextFile(source, "", ",", Encoding("utf-8", "UTF-8", 0))
    uniques, first_rows, inverse = np.unique(values, return_index=True, return_inverse=True)
    numbers = np.empty(len(uniques), dtype=np.float64)
    for index in np.argsort(first_rows, kind="stable").tolist():  # in file order: the first bad line is named
        item = uniques[index].decode("utf-8", "replace")
        try:
            value = text.parse_number(item, line=int(first_rows[index]) + 2, column=name)
        except TextFileError as exc:
            raise CsvInputError(source, exc.line, exc.problem) from None
        numbers[index] = np.nan if value is None else value
    return numbers[inverse.ravel()]


def _needs_number_style(values: np.ndarray) -> bool:
    """True when a value holds a comma or a space, or reads ``1.234``-like (one point, three
    digits after it, 1-3 before): those need :func:`text_files.parse_number`."""
    count, width = len(values), values.dtype.itemsize
    matrix = values.view(np.uint8).reshape(count, width)
    if np.any((matrix == 44) | (matrix == 32)):
        return True
    dot_at = np.count_nonzero(matrix, axis=1) - 4
    has_dot = (dot_at >= 1) & (matrix[np.arange(count), np.clip(dot_at, 0, width - 1)] == 46)
    candidates = np.unique(values[has_dot]).tolist()
    return any(number_form(item.decode("ascii", "replace")) == "ambiguous" for item in candidates)


def _parse_digit_strings(values: np.ndarray) -> np.ndarray | None:
    """Vectorised parse when every value is empty or only ASCII digits; else None.

    Values are left-aligned and NUL-padded, so summing digit x 10^(longest-1-column) over
    the columns gives each value times 10^(longest-length); one exact division fixes that.
    """
    count, width = len(values), values.dtype.itemsize
    if count == 0:
        return None
    matrix = values.view(np.uint8).reshape(count, width)
    lengths = np.count_nonzero(matrix, axis=1)
    longest = int(lengths.max())
    if longest > _DIGITS_MAX or np.any(matrix[:, longest:]):
        return None
    head = matrix[:, :longest]
    offset = head - np.uint8(48)  # wraps around for bytes below "0"
    if not np.all((offset <= 9) | (head == 0)):
        return None
    if longest > 1 and np.any((head[:, :-1] == 0) & (head[:, 1:] != 0)):
        return None  # a NUL inside a value: not a plain number
    total = np.zeros(count, dtype=np.int64)
    for column in range(longest):
        total *= 10
        total += np.where(head[:, column] == 0, 0, offset[:, column]).astype(np.int64)
    numbers = total.astype(np.float64) / (10.0 ** (longest - lengths))
    numbers[lengths == 0] = np.nan
    return numbers


def parse_booleans(source: str, name: str, values: np.ndarray, default: bool) -> np.ndarray:
    """true/false, 1/0, yes/no (any case); empty -> ``default``."""
    mapping = {b"true": True, b"1": True, b"yes": True, b"y": True, b"t": True, b"false": False, b"0": False, b"no": False, b"n": False, b"f": False, b"": default}
    labels, codes = np.unique(np.char.lower(np.char.strip(values)), return_inverse=True)
    lookup: list[bool] = []
    for label in labels.tolist():
        if label not in mapping:
            row = int(np.flatnonzero(codes == len(lookup))[0])
            raise CsvInputError(source, row + 2, f"column {name}: {label.decode('utf-8', 'replace')!r} is not true/false")
        lookup.append(mapping[label])
    return np.array(lookup, dtype=bool)[codes] if len(values) else np.zeros(0, dtype=bool)
