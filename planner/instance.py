"""Planner input and output schemas. Pure data: no CRM, no DB, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

SOLVERS = ("auto", "greedy")  # "auto": the CP-SAT planner when installed, else greedy
VISIT_MODES = ("field", "remote", "hybrid")  # how an account is served (accounts.csv visit_mode)
REP_MODES = ("field", "inside")  # how a rep sells (reps.csv mode)
# share of an account's visits that are trips: remote accounts cost no travel, hybrid half
VISIT_TRAVEL_WEIGHT = {"field": 1.0, "hybrid": 0.5, "remote": 0.0}
DEFAULT_ROAD_FACTOR = 1.3  # road km per great-circle km (typical for Central European roads)
DEFAULT_SPEED_KMH = 60.0  # average door-to-door speed of a field visit


@dataclass(frozen=True)
class PlanAccount:
    """One account to place. ``owner_id`` is the current owner (may be None or inactive)."""

    id: str
    name: str
    owner_id: str | None
    lat: float
    lon: float
    potential: float
    workload: float
    locked: bool = False
    industry: str | None = None
    visit_mode: str = "field"  # one of VISIT_MODES
    postal_code: str | None = None  # only to look up drive times keyed by postal code

    @property
    def travel_weight(self) -> float:
        """Share of this account's workload that is a trip (0 remote, 0.5 hybrid, 1 field)."""
        return VISIT_TRAVEL_WEIGHT[self.visit_mode]


@dataclass(frozen=True)
class PlanRep:
    """One rep. ``industries`` empty means the rep may serve any industry."""

    id: str
    name: str
    lat: float
    lon: float
    capacity: float
    active: bool = True
    industries: frozenset[str] = frozenset()
    target_weight: float = 1.0
    mode: str = "field"  # one of REP_MODES; inside reps serve remote accounts only

    def serves(self, industry: str | None) -> bool:
        return not self.industries or (industry is not None and industry in self.industries)

    def may_visit(self, account: PlanAccount) -> bool:
        """Inside reps take only remote accounts; field reps take any visit mode."""
        return self.mode != "inside" or account.visit_mode == "remote"

    @property
    def label(self) -> str:
        """How people read the rep: its name, else its id."""
        return self.name or self.id


@dataclass(frozen=True)
class PlanOptions:
    """How to plan. ``solver`` is one of ``SOLVERS``."""

    tolerance: float = 0.05
    reach: int = 10
    time_limit: float = 60.0
    seed: int = 0
    num_workers: int = 0  # 0 = match the machine's cores
    solver: str = "auto"


@dataclass(frozen=True)
class TravelTimes:
    """How travel is measured: drive minutes from a rep's home to an account.

    ``minutes`` holds the user's routing-engine figures, ``(rep_id, account_id) -> minutes``;
    every pair it lacks is estimated as great-circle km x ``road_factor`` at ``speed_kmh``.
    """

    road_factor: float = DEFAULT_ROAD_FACTOR
    speed_kmh: float = DEFAULT_SPEED_KMH
    minutes: Mapping[tuple[str, str], float] = field(default_factory=dict)
    source: str = "the drive-time matrix"  # where ``minutes`` came from, for the notes

    @property
    def minutes_per_km(self) -> float:
        """Estimated drive minutes per great-circle km."""
        return self.road_factor / self.speed_kmh * 60.0


@dataclass(frozen=True)
class Instance:
    accounts: tuple[PlanAccount, ...]
    reps: tuple[PlanRep, ...]
    travel: TravelTimes = field(default_factory=TravelTimes)


@dataclass(frozen=True)
class Move:
    account_id: str
    from_owner_id: str | None
    to_owner_id: str
    reason: str


@dataclass(frozen=True)
class Violation:
    """One broken constraint.

    Attributes:
        kind: One of ``HARD_KINDS`` or ``BALANCE_KINDS``.
        subject_id: The account id or rep id the violation is about.
        detail: A sentence saying what is wrong.
        amount: How much (excess workload, deviation beyond tolerance, ...); 1.0 for yes/no.
    """

    kind: str
    subject_id: str
    detail: str
    amount: float = 1.0


@dataclass
class Plan:
    """A full assignment plus what the planner measured about it."""

    assignment: dict[str, str]  # account id -> new owner id
    moves: list[Move]
    metrics: dict[str, object] = field(default_factory=dict)
    explanations: list[str] = field(default_factory=list)
    violations: list[Violation] | None = None  # set by planner.plan (the validator's findings)
