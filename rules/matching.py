"""Which territories match which accounts: a vectorised, indexed matcher plus a scalar twin.

Each criterion (country, postal code, industry, employees, revenue) is one *dimension*. Per
dimension the distinct account values (or numeric classes between the rule thresholds) are
few, so we compute, once per distinct value, a bitset of the territories that accept it.
An account's matches are the AND of its per-dimension bitsets: a handful of table look-ups
over a million rows instead of a comparison per account and territory.

The scalar :func:`criteria_results` is the reference the vectorised path is tested against
and what ``territory explain`` prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from territory.rules.postal import PostalIndex, normalize_postal_code
from territory.rules.records import Account
from territory.rules.schema import Match, NumberRange
from territory.rules.table import AccountTable, Coded, hash_rows

_CHUNK = 1 << 18


def _country_key(text: str) -> str:
    return text.strip().upper()


def _industry_key(text: str) -> str:
    return text.strip().casefold()


def criteria_results(match: Match, account: Account) -> list[tuple[str, bool, str]]:
    """Each criterion of ``match`` as (criterion, passed, account value), in file order."""
    results: list[tuple[str, bool, str]] = []
    if match.country is not None:
        value = _country_key(account.country or "")
        results.append((f"country {'|'.join(match.country)}", value in {_country_key(c) for c in match.country}, value or "-"))
    if match.postal_code is not None:
        code = normalize_postal_code(account.postal_code)
        passed = any(r.contains(code) for r in match.postal_ranges())
        results.append((f"postal_code {'|'.join(match.postal_code)}", passed, code or "-"))
    if match.industry is not None:
        value = (account.industry or "").strip()
        passed = _industry_key(value) in {_industry_key(i) for i in match.industry}
        results.append((f"industry {'|'.join(match.industry)}", passed, value or "-"))
    for name in ("employees", "annual_revenue"):
        bounds: NumberRange | None = getattr(match, name)
        if bounds is not None:
            value = getattr(account, name)
            shown = "-" if value is None else f"{value:g}"
            results.append((f"{name} {bounds.describe()}", bounds.contains(value), shown))
    return results


def matches(match: Match, account: Account) -> bool:
    """Whether every criterion of ``match`` holds for ``account``."""
    return all(passed for _, passed, _ in criteria_results(match, account))


class MatchIndex:
    """Compiled criteria of several matches (territories or channel rules), in list order."""

    def __init__(self, criteria: Sequence[Match]) -> None:
        self.criteria = list(criteria)
        self.size = len(self.criteria)
        self.words = max(1, -(-self.size // 64))

    def match_bits(self, table: AccountTable) -> np.ndarray:
        """``(rows, words)`` uint64 bitsets: bit t set when match t holds for the row."""
        rows = len(table)
        if self.size == 0:
            return np.zeros((rows, self.words), dtype=np.uint64)
        dimensions = self._dimension_tables(table)
        bits = np.empty((rows, self.words), dtype=np.uint64)
        for start in range(0, rows, _CHUNK):
            stop = min(rows, start + _CHUNK)
            block = np.full((stop - start, self.words), np.uint64(0xFFFFFFFFFFFFFFFF))
            for lookup, classes in dimensions:
                block &= lookup[classes[start:stop]]
            bits[start:stop] = block
        tail = self.size % 64
        if tail:
            bits[:, -1] &= np.uint64((1 << tail) - 1)
        return bits

    def matched(self, table: AccountTable) -> np.ndarray:
        """``(rows, size)`` booleans (through :meth:`group_rows`); for small tables and tests."""
        group_of_row, group_bits = self.group_rows(table)
        unpacked = np.unpackbits(np.ascontiguousarray(group_bits).view(np.uint8), axis=1, bitorder="little")
        return unpacked[:, : self.size].astype(bool)[group_of_row]

    def masks(self, table: AccountTable) -> list[np.ndarray]:
        """One boolean row mask per criterion, from :meth:`match_bits` (no grouping); the
        cheap path for a handful of criteria such as the channel rules."""
        bits = self.match_bits(table)
        return [((bits[:, i // 64] >> np.uint64(i % 64)) & np.uint64(1)).astype(bool) for i in range(self.size)]

    def group_rows(self, table: AccountTable) -> tuple[np.ndarray, np.ndarray]:
        """Rows grouped by their match bitset: (group per row, ``(groups, words)`` bitsets).

        Per dimension, classes with the same bitset are merged first; a row is then a
        combination of a few small class ids, and bitsets are computed once per distinct
        combination instead of once per row. Group order depends only on the content.
        """
        rows = len(table)
        if self.size == 0 or rows == 0:
            return np.zeros(rows, dtype=np.int64), np.zeros((1 if rows else 0, self.words), dtype=np.uint64)
        combo_key = np.zeros(rows, dtype=np.int64)
        radix = 1
        distinct_tables: list[np.ndarray] = []
        for lookup, classes in self._dimension_tables(table):
            distinct, class_id = unique_rows(lookup)
            if radix * len(distinct) >= 2**62:
                return group_equal_rows(self.match_bits(table))
            combo_key += class_id.reshape(-1)[classes].astype(np.int64) * radix
            radix *= len(distinct)
            distinct_tables.append(distinct)
        combos, combo_of_row = np.unique(combo_key, return_inverse=True)
        combo_bits = np.full((len(combos), self.words), np.uint64(0xFFFFFFFFFFFFFFFF))
        remainder = combos.copy()
        for distinct in distinct_tables:
            combo_bits &= distinct[remainder % len(distinct)]
            remainder //= len(distinct)
        tail = self.size % 64
        if tail:
            combo_bits[:, -1] &= np.uint64((1 << tail) - 1)
        unique_bits, group_of_combo = unique_rows(combo_bits)
        return group_of_combo[combo_of_row.reshape(-1)], unique_bits

    def _dimension_tables(self, table: AccountTable) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per constrained dimension: (bitset per class, class per row)."""
        found: list[tuple[np.ndarray, np.ndarray]] = []
        text_dimensions = (("country", table.country, _country_key), ("industry", table.industry, _industry_key))
        for name, column, key in text_dimensions:
            if any(getattr(m, name) is not None for m in self.criteria):
                found.append((self._text_lookup(name, column, key), column.codes))
        if any(m.postal_code is not None for m in self.criteria):
            found.append((self._postal_lookup(table.postal), table.postal.codes))
        for name in ("employees", "annual_revenue"):
            if any(getattr(m, name) is not None for m in self.criteria):
                found.append(self._numeric_lookup(name, getattr(table, name)))
        return found

    def _pack(self, accepted: np.ndarray) -> np.ndarray:
        """Bool ``(classes, size)`` -> uint64 ``(classes, words)`` bitsets."""
        padded = np.zeros((accepted.shape[0], self.words * 64), dtype=bool)
        padded[:, : self.size] = accepted
        return np.packbits(padded, axis=1, bitorder="little").view(np.uint64)

    def _text_lookup(self, name: str, column: Coded, key: Callable[[str], str]) -> np.ndarray:
        # One extra last row for missing values (code -1 indexes it).
        accepted = np.ones((len(column.labels) + 1, self.size), dtype=bool)
        label_keys = [key(label) for label in column.labels]
        for index, criteria in enumerate(self.criteria):
            values = getattr(criteria, name)
            if values is not None:
                allowed = {key(value) for value in values}
                accepted[:-1, index] = [label in allowed for label in label_keys]
                accepted[-1, index] = False
        return self._pack(accepted)

    def _postal_lookup(self, column: Coded) -> np.ndarray:
        """Bitsets per postal label, built per prefix length from the few distinct prefixes."""
        constrained = [i for i, m in enumerate(self.criteria) if m.postal_code is not None]
        index = PostalIndex((r, i) for i in constrained for r in self.criteria[i].postal_ranges())
        free = np.ones((1, self.size), dtype=bool)
        free[0, constrained] = False
        lookup = np.repeat(self._pack(free), len(column.labels) + 1, axis=0)  # last row: missing
        for length in index.lengths:
            prefix_code: dict[str, int] = {}
            codes = np.array([prefix_code.setdefault(label[:length], len(prefix_code)) for label in column.labels], dtype=np.int64)
            per_prefix = np.zeros((len(prefix_code), self.size), dtype=bool)
            for prefix, code in prefix_code.items():
                owners = list(index.owners_of_prefix(length, prefix))
                if owners:
                    per_prefix[code, owners] = True
            if len(codes):
                lookup[:-1] |= self._pack(per_prefix)[codes]
        return lookup

    def _numeric_lookup(self, name: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Classes between thresholds: 2i = strictly between points, 2i+1 = on point i."""
        bounds = [getattr(m, name) for m in self.criteria]
        points = np.array(sorted({v for b in bounds if b is not None for v in (b.min, b.max) if v is not None}))
        below = np.searchsorted(points, values, side="left")
        on_point = (below < len(points)) & (points[np.minimum(below, len(points) - 1)] == values)
        classes = (2 * below + on_point).astype(np.int64)
        unknown = 2 * len(points) + 1
        classes[np.isnan(values)] = unknown
        class_ids = np.arange(unknown + 1)
        accepted = np.ones((unknown + 1, self.size), dtype=bool)
        for index, bound in enumerate(bounds):
            if bound is None:
                continue
            ok = class_ids < unknown
            if bound.min is not None:
                ok &= class_ids >= 2 * int(np.searchsorted(points, bound.min)) + 1
            if bound.max is not None:
                ok &= class_ids <= 2 * int(np.searchsorted(points, bound.max)) + 1
            accepted[:, index] = ok
        return self._pack(accepted), classes


def bit_indexes(row_bits: np.ndarray) -> list[int]:
    """Indexes of the set bits in one ``(words,)`` bitset row."""
    unpacked = np.unpackbits(row_bits.view(np.uint8), bitorder="little")
    return np.flatnonzero(unpacked).tolist()


def bit_index_lists(rows_bits: np.ndarray) -> list[list[int]]:
    """Set-bit indexes of each ``(words,)`` row of a ``(rows, words)`` bitset matrix."""
    if len(rows_bits) == 0:
        return []
    unpacked = np.unpackbits(np.ascontiguousarray(rows_bits).view(np.uint8), axis=1, bitorder="little")
    rows, columns = np.nonzero(unpacked)
    split_at = np.searchsorted(rows, np.arange(1, len(rows_bits)))
    return [part.tolist() for part in np.split(columns, split_at)]


def unique_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a uint64 matrix and the index of each row's distinct row.

    Rows are hashed to one word and the words sorted (a row-wise ``np.unique(axis=0)``
    sorts far slower); a hash collision is detected and then handled exactly.
    """
    if len(matrix) == 0:
        return matrix[:0], np.empty(0, dtype=np.int64)
    keys = matrix[:, 0].copy() if matrix.shape[1] == 1 else hash_rows(matrix)
    unique_keys, inverse = np.unique(keys, return_inverse=True)
    first = np.empty(len(unique_keys), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(matrix) - 1, -1, -1)  # last write wins: first row
    if matrix.shape[1] > 1 and not np.array_equal(matrix, matrix[first[inverse]]):
        distinct, inverse = np.unique(matrix, axis=0, return_inverse=True)
        return distinct, inverse.reshape(-1).astype(np.int64)
    return matrix[first], inverse.reshape(-1).astype(np.int64)


def group_equal_rows(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group rows with identical bitsets: (group per row, ``(groups, words)`` bitsets)."""
    distinct, inverse = unique_rows(bits)
    return inverse, distinct
