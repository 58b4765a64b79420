"""Coverage and capacity math: the ONE definition of potential, tier, workload and balance.

Definitions (see docs/rules.md, "Coverage and capacity"):

- potential: ``annual_revenue x share_of_wallet`` (method ``annual_revenue``), or the open
  pipeline weighted by close probability, ``sum(amount x p(stage))`` (method
  ``opportunities``); unknown values count as 0; optionally capped per account (``cap``).
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

from territory.rules.schema import Coverage, Potential, Tier


def potential_from_revenue(annual_revenue: np.ndarray, potential: Potential) -> np.ndarray:
    """``annual_revenue x share_of_wallet``; unknown revenue gives 0."""
    revenue = np.nan_to_num(np.asarray(annual_revenue, dtype=np.float64), nan=0.0)
    return np.maximum(revenue, 0.0) * potential.share_of_wallet


def cap_potential(potential_values: np.ndarray, potential: Potential) -> np.ndarray:
    """Clip each account's potential at ``potential.cap`` (no cap: unchanged)."""
    if potential.cap is None:
        return potential_values
    return np.minimum(potential_values, potential.cap)


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


def assign_tiers(potential: np.ndarray, tiers: Sequence[Tier]) -> np.ndarray:
    """Tier index per account, ABC by cumulative share of potential.

    An account's "share before" is the potential of all accounts with strictly *higher*
    potential over the total; it joins the first tier whose ``potential_share`` is above
    that. Equal potentials therefore always share a tier, so the result does not depend
    on input order, and the single biggest account is always in the first tier.
    Accounts without potential (0 or unknown) are in the last tier.
    """
    values = np.nan_to_num(np.asarray(potential, dtype=np.float64), nan=0.0)
    last = len(tiers) - 1
    total = float(values.sum())
    if len(values) == 0 or total <= 0:
        return np.full(len(values), last, dtype=np.int32)
    descending = np.sort(values)[::-1]
    before = np.cumsum(descending) - descending
    # Ties: use the share before the first of the tied values (a running minimum works
    # because ``before`` only grows along the descending order).
    first_of_block = np.r_[True, descending[1:] != descending[:-1]]
    block_start = np.maximum.accumulate(np.where(first_of_block, np.arange(len(values)), 0))
    share_before = before[block_start] / total
    shares = np.array([tier.potential_share for tier in tiers])
    tier_sorted = np.minimum(np.searchsorted(shares, share_before, side="right"), last)
    # Tiers are monotone in potential: the smallest value of each tier is its threshold.
    thresholds = [descending[tier_sorted <= k].min() if np.any(tier_sorted <= k) else np.inf for k in range(last)]
    tier_of = np.full(len(values), last, dtype=np.int32)
    for k in range(last - 1, -1, -1):
        tier_of[values >= thresholds[k]] = k
    tier_of[values <= 0] = last
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
