"""Coverage and capacity math: the ONE definition of potential, tier, workload and balance.

Definitions (see docs/rules.md, "Coverage and capacity"):

- potential: ``annual_revenue x share_of_wallet`` (method ``annual_revenue``), or the open
  pipeline weighted by close probability, ``sum(amount x p(stage))`` (method
  ``opportunities``); unknown values count as 0.
- tier: ABC by cumulative potential. Accounts sorted by potential (desc, then id) take the
  first tier until the running share of total potential reaches its ``potential_share``
  (A = 0.8: the accounts that make up the top 80% of potential), then the next tier.
- workload: touches per quarter of the account's tier (the floor in the seeds is 3).
- per rep: accounts, potential, workload against capacity (touches per quarter, 200 by
  default), utilisation = workload / capacity.
- balance of a quantity across reps: mean, max relative deviation ``max|x - mean| / mean``
  and coefficient of variation ``std / mean`` (population std); with target weights the
  comparison is against each rep's weighted share of the total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rules.schema import Coverage, Potential, Tier


def potential_from_revenue(annual_revenue: np.ndarray, potential: Potential) -> np.ndarray:
    """``annual_revenue x share_of_wallet``; unknown revenue gives 0."""
    revenue = np.nan_to_num(np.asarray(annual_revenue, dtype=np.float64), nan=0.0)
    return np.maximum(revenue, 0.0) * potential.share_of_wallet


def stage_probability(stage: str | None, potential: Potential) -> float:
    """Close probability of a stage (case-insensitive), else the default probability."""
    if stage:
        wanted = stage.strip().casefold()
        for name, probability in potential.stage_probabilities.items():
            if name.strip().casefold() == wanted:
                return probability
    return potential.default_probability


def potential_from_opportunities(
    account_rows: np.ndarray, amounts: np.ndarray, probabilities: np.ndarray, account_count: int
) -> np.ndarray:
    """Sum of ``amount x probability`` of open opportunities per account row.

    Args:
        account_rows: Row of each (open) opportunity's account; -1 for unknown accounts.
        amounts: Opportunity amounts (NaN = unknown = 0).
        probabilities: Close probability per opportunity.
        account_count: Number of account rows.
    """
    known = account_rows >= 0
    weighted = np.nan_to_num(amounts[known], nan=0.0) * probabilities[known]
    return np.bincount(account_rows[known], weights=weighted, minlength=account_count).astype(np.float64)


def assign_tiers(potential: np.ndarray, tiers: Sequence[Tier], tie_order: np.ndarray | None = None) -> np.ndarray:
    """Tier index per account, ABC by cumulative share of potential.

    Args:
        potential: Potential per account.
        tiers: Ascending ``potential_share`` tiers (the last has 1.0).
        tie_order: Optional sort key for equal potentials (e.g. rank of the account id) so
            the result does not depend on input order.
    """
    values = np.asarray(potential, dtype=np.float64)
    count = len(values)
    tier_of = np.full(count, len(tiers) - 1, dtype=np.int32)
    total = float(values.sum())
    if count == 0 or total <= 0:
        return tier_of
    secondary = tie_order if tie_order is not None else np.arange(count)
    order = np.lexsort((secondary, -values))
    # Share of potential *before* each account: an account joins a tier while the tier's
    # share is not yet reached, so the single biggest account is always tier A.
    before = (np.cumsum(values[order]) - values[order]) / total
    shares = np.array([tier.potential_share for tier in tiers])
    ranked = np.minimum(np.searchsorted(shares, before, side="right"), len(tiers) - 1)
    ranked[values[order] <= 0] = len(tiers) - 1
    tier_of[order] = ranked
    return tier_of


def workload_of(tier_index: np.ndarray, tiers: Sequence[Tier]) -> np.ndarray:
    """Touches per quarter per account, from its tier."""
    touches = np.array([tier.touches_per_quarter for tier in tiers], dtype=np.float64)
    return touches[np.asarray(tier_index, dtype=np.int64)]


@dataclass(frozen=True)
class RepCoverage:
    """One rep's book measured against capacity."""

    rep_id: str
    accounts: int
    potential: float
    workload: float
    capacity: float

    @property
    def utilisation(self) -> float:
        """Workload / capacity (1.0 = fully used; above 1 the rep cannot cover the book)."""
        return self.workload / self.capacity if self.capacity > 0 else float("inf")


def rep_coverage(
    owner_codes: np.ndarray,
    rep_ids: Sequence[str],
    potential: np.ndarray,
    workload: np.ndarray,
    capacities: Mapping[str, float],
    coverage: Coverage,
) -> list[RepCoverage]:
    """Per rep (by ``rep_ids`` order): accounts, potential, workload and capacity.

    Args:
        owner_codes: Index into ``rep_ids`` per account (-1 = unowned, ignored).
        rep_ids: Rep vocabulary.
        potential: Potential per account.
        workload: Touches per quarter per account.
        capacities: Capacity per rep id; missing reps get ``coverage.capacity_per_rep``.
        coverage: The rules file's coverage settings.
    """
    owned = owner_codes >= 0
    size = len(rep_ids)
    counts = np.bincount(owner_codes[owned], minlength=size)
    potentials = np.bincount(owner_codes[owned], weights=potential[owned], minlength=size)
    workloads = np.bincount(owner_codes[owned], weights=workload[owned], minlength=size)
    return [
        RepCoverage(
            rep_id=rep_id,
            accounts=int(counts[i]),
            potential=float(potentials[i]),
            workload=float(workloads[i]),
            capacity=float(capacities.get(rep_id) or coverage.capacity_per_rep),
        )
        for i, rep_id in enumerate(rep_ids)
    ]


@dataclass(frozen=True)
class Balance:
    """Spread of one quantity across reps."""

    mean: float
    max_relative_deviation: float
    coefficient_of_variation: float


def balance(values: Sequence[float] | np.ndarray, weights: Sequence[float] | np.ndarray | None = None) -> Balance:
    """Balance of ``values`` across reps (optionally against weighted targets).

    With ``weights``, each rep's target is ``total x weight / sum(weights)`` and deviations
    are relative to that target; ``mean`` is then the mean target.
    """
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return Balance(0.0, 0.0, 0.0)
    share = np.full(data.size, 1.0 / data.size) if weights is None else np.asarray(weights, dtype=np.float64) / float(np.sum(weights))
    targets = float(data.sum()) * share
    if float(data.sum()) <= 0:
        return Balance(0.0, 0.0, 0.0)
    relative = (data - targets) / np.where(targets > 0, targets, np.inf)
    return Balance(
        mean=float(targets.mean()),
        max_relative_deviation=float(np.abs(relative).max()),
        coefficient_of_variation=float(np.sqrt(np.mean(relative**2))),
    )


def coverage_floor_ok(workload: np.ndarray, floor: float = 3.0) -> bool:
    """Whether every account gets at least ``floor`` touches per quarter (seed: 3)."""
    return bool(np.all(np.asarray(workload) >= floor))
