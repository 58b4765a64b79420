"""Read a CSV file into numpy byte columns: a vectorised fast path and a csv-module path.

The fast path handles the common export shape (no quote characters, one record per line,
``\\n`` or ``\\r\\n`` endings): the whole file is one byte array, separators are found
with one comparison, and each wanted column is gathered with array indexing. Anything else
(quotes, ragged rows, blank lines) goes through the standard ``csv`` module, which also
produces the precise error for a malformed row.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from rules.errors import CsvInputError

_BOM = b"\xef\xbb\xbf"


def read_csv_columns(path: str | Path, wanted: Sequence[str], required: Sequence[str]) -> dict[str, np.ndarray]:
    """The ``wanted`` columns present in the file, as UTF-8 byte arrays (header order free).

    Raises:
        CsvInputError: unreadable file, missing required column, or a malformed row.
    """
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CsvInputError(source, 1, f"cannot read the file: {exc.strerror or exc}") from exc
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    header_end = raw.find(b"\n")
    header_line = (raw if header_end < 0 else raw[:header_end]).decode("utf-8", "replace").rstrip("\r")
    header = next(csv.reader([header_line]), [])
    names = [name.strip() for name in header]
    missing = [name for name in required if name not in names]
    if missing:
        raise CsvInputError(source, 1, f"missing column(s) {', '.join(missing)}; the header has: {', '.join(names) or '(nothing)'}")
    positions = {name: names.index(name) for name in wanted if name in names}
    columns = None if b'"' in raw else _fast_columns(raw, header_end, len(names), positions)
    return columns if columns is not None else _csv_module_columns(source, raw, names, positions)


def _fast_columns(raw: bytes, header_end: int, width: int, positions: dict[str, int]) -> dict[str, np.ndarray] | None:
    """Vectorised split; None when the file is not in the simple shape."""
    if header_end < 0:
        return {name: np.zeros(0, dtype="S1") for name in positions}
    body = raw[header_end + 1:]
    if body and not body.endswith(b"\n"):
        body += b"\n"
    data = np.frombuffer(body, dtype=np.uint8)
    separators = np.flatnonzero((data == 44) | (data == 10))
    if len(separators) % width:
        return None
    ends = separators.reshape(-1, width)
    if not np.all(data[ends[:, -1]] == 10) or np.any(data[ends[:, :-1]] == 10):
        return None  # ragged rows or blank lines: let the csv module report them
    starts = np.empty_like(ends)
    starts.ravel()[1:] = ends.ravel()[:-1] + 1
    starts.ravel()[0] = 0
    carriage = (ends[:, -1] > 0) & (data[np.maximum(ends[:, -1] - 1, 0)] == 13)
    padded = np.concatenate([data, np.zeros(64, dtype=np.uint8)])
    columns: dict[str, np.ndarray] = {}
    for name, index in positions.items():
        lengths = ends[:, index] - starts[:, index]
        if index == width - 1:
            lengths = lengths - carriage
        columns[name] = _gather(padded, starts[:, index], lengths)
    return columns


def _gather(padded: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Fixed-width byte strings ``padded[start:start+length]`` per row, NUL-padded."""
    rows = len(starts)
    longest = int(lengths.max()) if rows else 0
    if longest == 0:
        return np.zeros(rows, dtype="S1")
    if longest > 64:
        padded = np.concatenate([padded, np.zeros(longest, dtype=np.uint8)])
    windows = sliding_window_view(padded, longest)[starts]
    windows[np.arange(longest) >= lengths[:, None]] = 0
    return np.ascontiguousarray(windows).view(f"S{longest}").ravel()


def _csv_module_columns(source: str, raw: bytes, names: list[str], positions: dict[str, int]) -> dict[str, np.ndarray]:
    text = raw.decode("utf-8", "replace")
    reader = csv.reader(text.splitlines(keepends=True))
    next(reader, None)
    values: dict[str, list[bytes]] = {name: [] for name in positions}
    try:
        for row in reader:
            if not row:
                continue  # a blank line is not a record
            if len(row) != len(names):
                raise CsvInputError(source, reader.line_num, f"{len(row)} fields, but the header has {len(names)}; quote values that contain commas")
            for name, index in positions.items():
                values[name].append(row[index].encode("utf-8"))
    except csv.Error as exc:
        raise CsvInputError(source, reader.line_num, f"malformed CSV: {exc}") from exc
    return {name: np.array(items, dtype=np.bytes_) if items else np.zeros(0, dtype="S1") for name, items in values.items()}


def parse_numbers(source: str, name: str, values: np.ndarray) -> np.ndarray:
    """A byte column as floats (empty -> NaN).

    Raises:
        CsvInputError: naming the first row whose value is not a number (line = row + 2).
    """
    stripped = np.char.strip(values) if values.dtype.itemsize <= 32 and len(values) < 50_000 else values
    filled = np.where(stripped == b"", b"nan", stripped)
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


def parse_booleans(source: str, name: str, values: np.ndarray, default: bool) -> np.ndarray:
    """true/false, 1/0, yes/no (any case); empty -> ``default``."""
    mapping = {b"true": True, b"1": True, b"yes": True, b"y": True, b"t": True, b"false": False, b"0": False, b"no": False, b"n": False, b"f": False, b"": default}
    labels, codes = np.unique(np.char.lower(np.char.strip(values)), return_inverse=True)
    lookup = []
    for label in labels.tolist():
        if label not in mapping:
            row = int(np.flatnonzero(codes == len(lookup))[0])
            raise CsvInputError(source, row + 2, f"column {name}: {label.decode('utf-8', 'replace')!r} is not true/false")
        lookup.append(mapping[label])
    return np.array(lookup, dtype=bool)[codes] if len(values) else np.zeros(0, dtype=bool)
