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
from pathlib import Path

import numpy as np

from territory.rules.errors import CsvInputError

_BOM = b"\xef\xbb\xbf"
_DIGITS_MAX = 15  # longer digit strings may exceed float64's exact integers


def read_csv_columns(path: str | Path, wanted: Sequence[str], required: Sequence[str]) -> dict[str, np.ndarray]:
    """The ``wanted`` columns present in the file, as UTF-8 byte arrays (header order free).

    Raises:
        CsvInputError: unreadable file, missing required column, or a malformed row.
    """
    source = str(path)
    try:
        buffer = _read_padded(Path(path))
    except OSError as exc:
        raise CsvInputError(source, 1, f"cannot read the file: {exc.strerror or exc}") from exc
    size = len(buffer) - _PAD
    start = len(_BOM) if bytes(buffer[: len(_BOM)]) == _BOM else 0
    head = bytes(buffer[start: min(size, start + (1 << 16))])
    header_end = head.find(b"\n")
    header_line = (head if header_end < 0 else head[:header_end]).decode("utf-8", "replace").rstrip("\r")
    names = [name.strip() for name in next(csv.reader([header_line]), [])]
    missing = [name for name in required if name not in names]
    if missing:
        raise CsvInputError(source, 1, f"missing column(s) {', '.join(missing)}; the header has: {', '.join(names) or '(nothing)'}")
    positions = {name: names.index(name) for name in wanted if name in names}
    if header_end < 0:
        return {name: np.zeros(0, dtype="S1") for name in positions}
    body_start = start + header_end + 1
    if size > body_start and buffer[size - 1] != 10:
        buffer[size] = 10  # a missing final newline; the padding has room for it
        size += 1
    columns = _fast_columns(buffer, body_start, size, len(names), positions)
    if columns is not None:
        return columns
    return _csv_module_columns(source, bytes(buffer[body_start:size]), names, positions)


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


def _fast_columns(buffer: np.ndarray, body_start: int, size: int, width: int, positions: dict[str, int]) -> dict[str, np.ndarray] | None:
    """Vectorised split; None when the file is not in the simple shape."""
    data = buffer[body_start:size]
    found = _separator_positions(data)
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


def _separator_positions(data: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Positions of commas and newlines (and the number of newlines), found block by block
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
        np.equal(chunk, 44, out=is_separator[:count])
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


def _csv_module_columns(source: str, raw: bytes, names: list[str], positions: dict[str, int]) -> dict[str, np.ndarray]:
    text = raw.decode("utf-8", "replace")
    reader = csv.reader(text.splitlines(keepends=True))  # the body: the header is line 1
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


def parse_numbers(source: str, name: str, values: np.ndarray) -> np.ndarray:
    """A byte column as floats (empty -> NaN).

    Plain non-negative integers (the usual export) are parsed on the byte matrix; anything
    else goes through numpy's float conversion.

    Raises:
        CsvInputError: naming the first row whose value is not a number (line = row + 2).
    """
    digits = _parse_digit_strings(values)
    if digits is not None:
        return digits
    filled = np.where(values == b"", b"nan", values)
    try:
        return filled.astype(np.float64)
    except ValueError:
        for row, item in enumerate(values.tolist()):
            text = item.decode("utf-8", "replace").strip()
            try:
                float(text or "nan")
            except ValueError:
                raise CsvInputError(source, row + 2, f"column {name}: {text!r} is not a number") from None
        raise


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
