"""Postal-code prefixes and inclusive prefix ranges, and a sorted-interval index over them.

``"49"`` is a prefix; ``"20-29"`` is an inclusive prefix range: a code matches when its first
two characters lie between ``20`` and ``29``. Both ends must have the same length so that
the comparison is unambiguous (``"2-29"`` is rejected). Codes are normalised by removing
spaces and dashes and upper-casing, so ``"SW1A 1AA"`` and ``"sw1a1aa"`` are the same code.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_ALNUM = re.compile(r"^[0-9A-Z]+$")


def normalize_postal_code(raw: str | None) -> str:
    """Upper-case, without spaces or dashes; empty for a missing code."""
    if not raw:
        return ""
    return raw.replace(" ", "").replace("-", "").upper()


@dataclass(frozen=True, order=True)
class PostalRange:
    """An inclusive prefix range ``low..high`` of equal length (a prefix has low == high)."""

    low: str
    high: str

    @property
    def length(self) -> int:
        return len(self.low)

    def contains(self, code: str) -> bool:
        """Whether a normalised postal code falls inside."""
        prefix = code[: self.length]
        return len(prefix) == self.length and self.low <= prefix <= self.high

    def __str__(self) -> str:
        return self.low if self.low == self.high else f"{self.low}-{self.high}"


def parse_postal_range(entry: str) -> PostalRange:
    """Parse ``"49"`` or ``"20-29"``.

    Raises:
        ValueError: the entry is empty, not alphanumeric, has ends of different length, or
            its low end is above its high end (``"29-20"``).
    """
    text = entry.strip().upper()
    low, sep, high = text.partition("-")
    low, high = low.strip(), (high.strip() if sep else low.strip())
    for part in (low, high):
        if not part or not _ALNUM.match(part):
            raise ValueError(f"bad postal_code entry {entry!r}: use a prefix like '49' or a range like '20-29'")
    if len(low) != len(high):
        raise ValueError(f"bad postal_code range {entry!r}: both ends need the same number of characters")
    if low > high:
        raise ValueError(f"bad postal_code range {entry!r}: {low} is above {high}; write '{high}-{low}'")
    return PostalRange(low, high)


class PostalIndex:
    """Finds, for a postal code, which owners (territory indexes) have a range covering it.

    Ranges are grouped by prefix length; per length the range ends are cut into disjoint
    elementary intervals, each carrying the set of owners covering it, so a lookup is one
    binary search per prefix length instead of a comparison per range.
    """

    def __init__(self, ranges: Iterable[tuple[PostalRange, int]]) -> None:
        by_length: dict[int, list[tuple[PostalRange, int]]] = {}
        for postal_range, owner in ranges:
            by_length.setdefault(postal_range.length, []).append((postal_range, owner))
        self._levels = [(length, *_segments(items)) for length, items in sorted(by_length.items())]

    @property
    def lengths(self) -> list[int]:
        """The prefix lengths in use."""
        return [length for length, _, _ in self._levels]

    def owners_of_prefix(self, length: int, prefix: str) -> frozenset[int]:
        """Owners of the ranges of ``length`` covering ``prefix`` (of exactly that length)."""
        for level_length, starts, owner_sets in self._levels:
            if level_length == length and len(prefix) == length:
                slot = bisect.bisect_right(starts, prefix) - 1
                return owner_sets[slot] if slot >= 0 else frozenset()
        return frozenset()

    def owners_of(self, code: str) -> set[int]:
        """Indexes of every range owner whose range contains ``code`` (normalised)."""
        found: set[int] = set()
        for length, starts, owner_sets in self._levels:
            prefix = code[:length]
            if len(prefix) < length:
                continue
            slot = bisect.bisect_right(starts, prefix) - 1
            if slot >= 0:
                found |= owner_sets[slot]
        return found


def _segments(items: Sequence[tuple[PostalRange, int]]) -> tuple[list[str], list[frozenset[int]]]:
    """Elementary intervals as (sorted start keys, owners covering each interval).

    A range ``low..high`` covers keys k with low <= k <= high. Cut points are every ``low``
    and the successor of every ``high`` (``high`` + a char above any allowed one).
    """
    cuts = sorted({r.low for r, _ in items} | {r.high + "\x7f" for r, _ in items})
    position = {cut: slot for slot, cut in enumerate(cuts)}
    covering: list[set[int]] = [set() for _ in cuts]
    for postal_range, owner in items:
        # The range covers the slots from its low cut up to (not including) its end cut.
        for slot in range(position[postal_range.low], position[postal_range.high + "\x7f"]):
            covering[slot].add(owner)
    return cuts, [frozenset(owners) for owners in covering]
