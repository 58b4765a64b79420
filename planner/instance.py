"""Planner input and output schemas. Pure data: no CRM, no DB, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

SOLVERS = ("auto", "greedy")  # "auto": the CP-SAT planner when installed, else greedy


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

    def serves(self, industry: str | None) -> bool:
        return not self.industries or (industry is not None and industry in self.industries)


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
class Instance:
    accounts: tuple[PlanAccount, ...]
    reps: tuple[PlanRep, ...]


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
