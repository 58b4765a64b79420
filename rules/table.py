"""Column-wise account data for vectorised evaluation.

Text columns are kept as numpy fixed-width UTF-8 byte arrays and factorised into integer
codes plus a small list of labels, so a million accounts cost a few array operations
instead of a million Python objects. Both the CSV reader and the record path end here.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from territory.rules.domains import normalize_domain
from territory.rules.postal import normalize_postal_code
from territory.rules.records import Account

_SAMPLE = 20_000
_PRIME = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class Coded:
    """A factorised text column: ``codes[i]`` indexes ``labels`` (-1 = missing)."""

    codes: np.ndarray
    labels: list[str]

    def value(self, row: int) -> str | None:
        code = int(self.codes[row])
        return self.labels[code] if code >= 0 else None

    def take(self, rows: np.ndarray) -> Coded:
        return Coded(self.codes[rows], self.labels)


def byte_keys(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """A uint64 key per fixed-width byte string, and whether the keys are exact (injective)."""
    count, width = len(values), values.dtype.itemsize
    padded_width = max(8, -(-width // 8) * 8)
    if width == padded_width and values.flags.c_contiguous:
        words = values.view(np.uint64).reshape(count, width // 8)  # no copy needed
    else:
        matrix = np.zeros((count, padded_width), dtype=np.uint8)
        if width:
            matrix[:, :width] = values.view(np.uint8).reshape(count, width)
        words = matrix.view(np.uint64)
    if padded_width == 8:
        return words[:, 0].copy(), True
    return hash_rows(words), False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk step.

    Building hundreds of thousands of small objects (reasons, output pieces) otherwise
    triggers many collections that find nothing to free; reference counting still frees
    everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def mix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: spreads every input bit over the whole 64-bit word."""
    with np.errstate(over="ignore"):
        x = values ^ (values >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x = x * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def hash_rows(words: np.ndarray) -> np.ndarray:
    """A 64-bit hash per row of a ``(rows, k)`` uint64 matrix (position-sensitive)."""
    keys = mix64(words[:, 0])
    for column in range(1, words.shape[1]):
        with np.errstate(over="ignore"):
            keys = mix64(keys * _PRIME + words[:, column])
    return keys


def factorize(values: np.ndarray, normalize: Callable[[str], str] = str.strip, unchanged_bytes: np.ndarray | None = None) -> Coded:
    """Codes and labels for a byte-string column; empty (after ``normalize``) is missing.

    The vocabulary is guessed from a sample and completed from the misses, so a column with
    few distinct values costs one binary search per row, not a sort. ``unchanged_bytes``
    (a 256-entry boolean table) marks the bytes ``normalize`` leaves alone: when every byte
    of the column is one of them, the per-label normalisation is skipped.
    """
    count = len(values)
    if count == 0:
        return Coded(np.empty(0, dtype=np.int32), [])
    keys, exact = byte_keys(values)
    vocabulary = np.unique(keys[:_SAMPLE])
    if len(vocabulary) * 10 > min(count, _SAMPLE):
        # Many distinct values (postal codes): one sort beats repeated searches.
        vocabulary, slots = np.unique(keys, return_inverse=True)
    else:
        slots = np.minimum(np.searchsorted(vocabulary, keys), len(vocabulary) - 1)
        missing = vocabulary[slots] != keys
        if missing.any():
            vocabulary = np.union1d(vocabulary, keys[missing])
            slots = np.searchsorted(vocabulary, keys)
    first_row = np.empty(len(vocabulary), dtype=np.int64)
    first_row[slots[::-1]] = np.arange(count - 1, -1, -1)  # last write wins: the first row
    if not exact and not np.array_equal(values, values[first_row[slots]]):
        # A 64-bit hash collision: astronomically rare, but never give a wrong answer.
        unique_values, slots = np.unique(values, return_inverse=True)
        first_row = _first_rows(slots, len(unique_values))
    raw_labels = [item.decode("utf-8", "replace") for item in values[first_row].tolist()]
    if unchanged_bytes is not None and len(raw_labels) > 1000 and unchanged_bytes[values.view(np.uint8)].all():
        return _without_empty(slots, raw_labels)
    return _normalized(slots, raw_labels, normalize)


def _without_empty(slots: np.ndarray, labels: list[str]) -> Coded:
    """Labels as they are, the empty one (if any) turned into missing (-1)."""
    if "" not in labels:
        return Coded(slots.astype(np.int32), labels)
    empty = labels.index("")
    codes = slots.astype(np.int32)
    codes = np.where(codes == empty, -1, codes - (codes > empty))
    return Coded(codes.astype(np.int32), labels[:empty] + labels[empty + 1:])


def _first_rows(slots: np.ndarray, size: int) -> np.ndarray:
    first = np.empty(size, dtype=np.int64)
    first[slots[::-1]] = np.arange(len(slots) - 1, -1, -1)
    return first


def _normalized(slots: np.ndarray, raw_labels: list[str], normalize: Callable[[str], str]) -> Coded:
    """Merge labels equal after normalisation (``de`` and ``DE``), sorted, '' -> missing."""
    clean = [normalize(label) for label in raw_labels]
    labels = sorted({label for label in clean if label})
    position = {label: code for code, label in enumerate(labels)}
    remap = np.array([position.get(label, -1) for label in clean], dtype=np.int32)
    return Coded(remap[slots], labels)


_SPECIAL_DOMAIN_BYTE = np.zeros(256, dtype=bool)
_SPECIAL_DOMAIN_BYTE[list(b"/:@?# \t")] = True


def normalize_domain_column(values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`normalize_domain` over a byte column.

    Lower-casing is done on the byte matrix; only the rare values with a scheme, path,
    port, ``www.`` prefix or trailing dot take the Python path.
    """
    count, width = len(values), values.dtype.itemsize
    if count == 0 or width == 0:
        return values
    matrix = values.view(np.uint8).reshape(count, width).copy()
    upper = (matrix >= 65) & (matrix <= 90)
    matrix[upper] += 32
    lowered = matrix.view(f"S{width}").ravel()
    special = _SPECIAL_DOMAIN_BYTE[matrix].any(axis=1)
    special |= np.char.startswith(lowered, b"www.")
    lengths = np.char.str_len(lowered)
    last = matrix[np.arange(count), np.maximum(lengths - 1, 0)]
    special |= last == ord(".")
    for row in np.flatnonzero(special):
        lowered[row] = normalize_domain(lowered[row].decode("utf-8", "replace")).encode("utf-8")
    return lowered


def to_bytes_column(values: Sequence[str | None]) -> np.ndarray:
    """A Python string column as a numpy UTF-8 byte array (None -> empty)."""
    return np.array([(value or "").encode("utf-8") for value in values], dtype=np.bytes_)


def to_float_column(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if value is None else float(value) for value in values], dtype=np.float64)


# Bytes normalize_postal_code leaves alone: NUL padding, digits and upper-case ASCII.
_POSTAL_CLEAN = np.zeros(256, dtype=bool)
_POSTAL_CLEAN[[0, *range(48, 58), *range(65, 91)]] = True


def _upper(text: str) -> str:
    return text.strip().upper()


@dataclass
class AccountTable:
    """Accounts as columns. Row order is the caller's order."""

    ids: np.ndarray  # UTF-8 bytes
    owner: Coded
    country: Coded
    postal: Coded
    industry: Coded
    employees: np.ndarray
    annual_revenue: np.ndarray
    domain: np.ndarray  # normalised UTF-8 bytes, b"" when missing
    sourcing: Coded
    partner: Coded
    names: np.ndarray | None = None
    _id_index: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def id_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted id keys, row of each sorted key), computed once and shared by the
        duplicate-id check, opportunity look-ups and named-account matching."""
        if self._id_index is None:
            keys, _ = byte_keys(self.ids)
            order = np.argsort(keys, kind="stable")
            self._id_index = (keys[order], order)
        return self._id_index

    def rows_of(self, wanted: np.ndarray) -> np.ndarray:
        """Row of each wanted id (UTF-8 bytes), -1 when absent. Ids are unique."""
        if len(self.ids) == 0 or len(wanted) == 0:
            return np.full(len(wanted), -1, dtype=np.int64)
        padded_width = max(8, -(-self.ids.dtype.itemsize // 8) * 8)
        sorted_keys, order = self.id_index()
        # Same width as the ids' keys; a longer value is cut here but fails the exact check.
        wanted_keys, _ = byte_keys(wanted.astype(f"S{padded_width}"))
        slots = np.minimum(np.searchsorted(sorted_keys, wanted_keys), len(sorted_keys) - 1)
        rows = order[slots]
        found = self.ids[rows] == wanted  # exact check guards against hash collisions
        return np.where(found, rows, -1)

    @classmethod
    def from_byte_columns(cls, columns: dict[str, np.ndarray], employees: np.ndarray, annual_revenue: np.ndarray) -> AccountTable:
        """Build from byte-string columns keyed by the CSV column names."""
        count = len(columns["id"])
        empty = np.zeros(count, dtype="S1")
        get = lambda name: columns.get(name, empty)  # noqa: E731 - tiny accessor
        return cls(
            ids=columns["id"],
            owner=factorize(get("owner_id")),
            country=factorize(get("country"), _upper),
            postal=factorize(get("postal_code"), normalize_postal_code, _POSTAL_CLEAN),
            industry=factorize(get("industry")),
            employees=employees,
            annual_revenue=annual_revenue,
            domain=normalize_domain_column(get("domain")),
            sourcing=factorize(get("sourcing_rep_id")),
            partner=factorize(get("partner_id")),
            names=columns.get("name"),
        )

    @classmethod
    def from_accounts(cls, accounts: Sequence[Account]) -> AccountTable:
        """Build from account records."""
        text = lambda attr: to_bytes_column([getattr(a, attr) for a in accounts])  # noqa: E731
        columns = {
            "id": text("id"),
            "name": text("name"),
            "owner_id": text("owner_id"),
            "country": text("country"),
            "postal_code": text("postal_code"),
            "industry": text("industry"),
            "domain": text("domain"),
            "sourcing_rep_id": text("sourcing_rep_id"),
            "partner_id": text("partner_id"),
        }
        employees = to_float_column([a.employees for a in accounts])
        revenue = to_float_column([a.annual_revenue for a in accounts])
        return cls.from_byte_columns(columns, employees, revenue)

    def id_list(self) -> list[str]:
        """Account ids as Python strings, in row order."""
        return [item.decode("utf-8", "replace") for item in self.ids.tolist()]

    def account(self, row: int) -> Account:
        """One row back as an :class:`Account` (normalised text values)."""
        number = lambda array: None if np.isnan(array[row]) else float(array[row])  # noqa: E731
        name = self.names[row].decode("utf-8", "replace") if self.names is not None else ""
        return Account(
            id=self.ids[row].decode("utf-8", "replace"),
            name=name,
            owner_id=self.owner.value(row),
            country=self.country.value(row),
            postal_code=self.postal.value(row),
            industry=self.industry.value(row),
            employees=number(self.employees),
            annual_revenue=number(self.annual_revenue),
            domain=self.domain[row].decode("utf-8", "replace") or None,
            sourcing_rep_id=self.sourcing.value(row),
            partner_id=self.partner.value(row),
        )
