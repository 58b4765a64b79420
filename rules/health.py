"""Territory health: the quarterly review's thresholds, flags and per-segment deal figures.

Pure functions over plain numbers (the report in ``sync.report`` gathers them from the store
or CSV files). The numbers come from the seed articles (docs/report.md cites each):

- balance: a rep's deviation from the team mean of potential or workload; above 20% teams
  perceive territories as unfair (``bad``), the target is 5% (above it: ``warn``);
- capacity: workload (touches per quarter by tier, floor 3 per account) over capacity;
  above 100% the rep cannot cover the book (``bad``);
- pipeline coverage: open pipeline closing in the quarter over quota; below 3x is ``bad``,
  the target is 3-5x for established territories and 5-7x for ones younger than a year
  (outside the target but not below 3x: ``warn``);
- territory size: 80-120 active prospects and 15-25 qualified opportunities (``warn`` outside).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Flag = Literal["ok", "warn", "bad", "none"]

BALANCE_CEILING = 0.20
BALANCE_TARGET = 0.05
PIPELINE_FLOOR = 3.0
PIPELINE_TARGET = (3.0, 5.0)
PIPELINE_TARGET_NEW = (5.0, 7.0)
NEW_TERRITORY_DAYS = 365
PROSPECTS_RANGE = (80, 120)
QUALIFIED_RANGE = (15, 25)
TOUCHES_FLOOR = 3.0
HISTORY_QUARTERS = 4
SEGMENT_BOUNDS = ((100, "SMB"), (1000, "Mid-market"))
LARGEST_SEGMENT = "Enterprise"
UNKNOWN_SEGMENT = "Unknown size"
SEGMENT_ORDER = ("SMB", "Mid-market", "Enterprise", UNKNOWN_SEGMENT)
UNQUALIFIED_STAGES = frozenset({"prospecting", "qualification", "appointmentscheduled", "lead", "new"})
"""Open stages (as :func:`stage_key` spells them) before qualification: Salesforce's first two,
HubSpot's first; every later open stage counts as a qualified opportunity."""


def thresholds() -> dict[str, object]:
    """Every threshold the flags use, for the report's JSON."""
    return {
        "balance_ceiling": BALANCE_CEILING, "balance_target": BALANCE_TARGET,
        "pipeline_floor": PIPELINE_FLOOR, "pipeline_target": list(PIPELINE_TARGET),
        "pipeline_target_new": list(PIPELINE_TARGET_NEW), "new_territory_days": NEW_TERRITORY_DAYS,
        "active_prospects": list(PROSPECTS_RANGE), "qualified_opportunities": list(QUALIFIED_RANGE),
        "touches_floor": TOUCHES_FLOOR, "history_quarters": HISTORY_QUARTERS,
        "unqualified_stages": sorted(UNQUALIFIED_STAGES),
    }


def balance_flag(deviation: float | None) -> Flag:
    """Flag a relative deviation from the team mean (e.g. 0.12 = 12% above)."""
    if deviation is None or math.isnan(deviation):
        return "none"
    size = abs(deviation)
    return "bad" if size > BALANCE_CEILING else "warn" if size > BALANCE_TARGET else "ok"


def utilisation_flag(utilisation: float | None) -> Flag:
    """Workload / capacity: above 1 the rep cannot give every account its touches."""
    if utilisation is None or math.isnan(utilisation):
        return "none"
    return "bad" if utilisation > 1.0 else "ok"


def pipeline_flag(ratio: float | None, new_territory: bool) -> Flag:
    """Pipeline coverage ratio against the target band for the territory's age."""
    if ratio is None or math.isnan(ratio):
        return "none"
    if ratio < PIPELINE_FLOOR:
        return "bad"
    low, high = PIPELINE_TARGET_NEW if new_territory else PIPELINE_TARGET
    return "ok" if low <= ratio <= high else "warn"


def range_flag(value: float | None, bounds: tuple[int, int]) -> Flag:
    """``ok`` inside the guideline range, ``warn`` outside."""
    if value is None:
        return "none"
    return "ok" if bounds[0] <= value <= bounds[1] else "warn"


def relative_deviation(value: float, mean: float) -> float | None:
    """``(value - mean) / mean``; None when the mean is not positive."""
    return (value - mean) / mean if mean > 0 else None


def coverable_accounts(accounts: int, workload: float, capacity: float) -> int:
    """How many accounts of this book the rep's capacity covers at the book's mean touches."""
    if accounts <= 0 or workload <= 0:
        return accounts
    return min(accounts, math.floor(capacity / (workload / accounts) + 1e-9))


def is_new_territory(since: date | None, today: date) -> bool:
    """Whether a territory started less than a year before ``today`` (unknown: established)."""
    return since is not None and (today - since).days < NEW_TERRITORY_DAYS


def segment_of(employees: float | None) -> str:
    """Size segment by employees: SMB < 100, Mid-market < 1000, else Enterprise."""
    if employees is None or math.isnan(employees):
        return UNKNOWN_SEGMENT
    for bound, name in SEGMENT_BOUNDS:
        if employees < bound:
            return name
    return LARGEST_SEGMENT


def stage_key(stage: str | None) -> str:
    """A stage label compared across CRMs: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", (stage or "").lower())


def is_qualified_stage(stage: str | None) -> bool:
    """Whether an open opportunity's stage is past qualification."""
    return stage_key(stage) not in UNQUALIFIED_STAGES


@dataclass(frozen=True)
class Quarter:
    """A calendar quarter, e.g. ``Quarter(2026, 4)`` = 2026Q4."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``2026Q4`` (also ``2026-Q4``, ``q4 2026``) -> Quarter; ValueError otherwise."""
        found = re.fullmatch(r"\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*|\s*[Qq]([1-4])\s*-?\s*(\d{4})\s*", text)
        if found is None:
            raise ValueError(f"quarter {text!r} is not like 2026Q4")
        year, number = (found.group(1), found.group(2)) if found.group(1) else (found.group(4), found.group(3))
        return cls(int(year), int(number))

    @classmethod
    def of(cls, day: date) -> Quarter:
        """The quarter ``day`` falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """Last day of the quarter."""
        return self.shift(1).start - timedelta(days=1)

    def shift(self, quarters: int) -> Quarter:
        index = self.year * 4 + self.number - 1 + quarters
        return Quarter(index // 4, index % 4 + 1)


@dataclass(frozen=True)
class ClosedDeal:
    """One closed opportunity as win rate and velocity need it."""

    segment: str
    won: bool
    days_to_close: int | None


@dataclass(frozen=True)
class DealStats:
    """Win rate and velocity of a group of closed deals (None where there are none)."""

    won: int
    lost: int
    win_rate: float | None
    median_days_to_close: float | None
    mean_days_to_close: float | None
    timed: int


def deal_stats(deals: Sequence[ClosedDeal]) -> DealStats:
    """Win rate over won + lost; velocity = days from create to close of won deals."""
    won = sum(1 for d in deals if d.won)
    lost = len(deals) - won
    days = sorted(d.days_to_close for d in deals if d.won and d.days_to_close is not None)
    median = None
    if days:
        mid = len(days) // 2
        median = float(days[mid]) if len(days) % 2 else (days[mid - 1] + days[mid]) / 2
    return DealStats(
        won=won, lost=lost, win_rate=won / len(deals) if deals else None,
        median_days_to_close=median, mean_days_to_close=sum(days) / len(days) if days else None,
        timed=len(days),
    )


def stats_by_segment(deals: Iterable[ClosedDeal]) -> dict[str, DealStats]:
    """:func:`deal_stats` per segment (segments without deals left out), in segment order."""
    groups: dict[str, list[ClosedDeal]] = {}
    for deal in deals:
        groups.setdefault(deal.segment, []).append(deal)
    ordered = [s for s in SEGMENT_ORDER if s in groups] + sorted(set(groups) - set(SEGMENT_ORDER))
    return {segment: deal_stats(groups[segment]) for segment in ordered}
