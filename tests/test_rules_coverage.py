"""Coverage and capacity math: potential, ABC tiers, workload, per-rep coverage, balance."""

from __future__ import annotations

import numpy as np
import pytest

from territory.rules import (
    Account,
    Opportunity,
    Rep,
    assign_tiers,
    balance,
    evaluate,
    parse_rules,
    potential_from_revenue,
    rep_coverage,
    workload_of,
)
from territory.rules.schema import Coverage, Potential, Tier

TIERS = [Tier(name="A", potential_share=0.8, touches_per_quarter=6), Tier(name="B", potential_share=0.95, touches_per_quarter=4), Tier(name="C", potential_share=1.0, touches_per_quarter=3)]


def test_potential_is_revenue_times_share_of_wallet_when_revenue_known() -> None:
    result = potential_from_revenue(np.array([1_000_000.0, np.nan, -5.0]), Potential(share_of_wallet=0.1))
    assert result.tolist() == [100_000.0, 0.0, 0.0]


def test_abc_tiers_by_cumulative_potential_share() -> None:
    # Total 100: 70 is A (nothing above it), 20 is A (70 before < 80%), 6 is B (90 before),
    # 3 and 1 are C (96 and 99 before), 0 is always the last tier.
    potential = np.array([3.0, 70.0, 0.0, 20.0, 1.0, 6.0])
    assert assign_tiers(potential, TIERS).tolist() == [2, 0, 2, 0, 2, 1]


def test_equal_potentials_share_a_tier_whatever_the_order() -> None:
    potential = np.array([40.0, 40.0, 20.0])
    tiers = assign_tiers(potential, TIERS)
    assert tiers[0] == tiers[1]
    assert assign_tiers(potential[::-1], TIERS).tolist() == tiers[::-1].tolist()


def test_workload_is_touches_per_quarter_of_the_tier() -> None:
    assert workload_of(np.array([0, 1, 2, 2]), TIERS).tolist() == [6.0, 4.0, 3.0, 3.0]


def test_rep_coverage_sums_workload_against_capacity() -> None:
    coverage = rep_coverage(np.array([0, 0, 1, -1]), ["R1", "R2"], np.array([10.0, 5.0, 1.0, 99.0]), np.array([6.0, 4.0, 3.0, 3.0]), {"R1": 8.0}, Coverage())
    assert [(c.rep_id, c.accounts, c.potential, c.workload, c.capacity) for c in coverage] == [("R1", 2, 15.0, 10.0, 8.0), ("R2", 1, 1.0, 3.0, 200.0)]
    assert coverage[0].utilisation == pytest.approx(1.25)


def test_balance_reports_max_relative_deviation_and_cv() -> None:
    result = balance([90.0, 110.0, 100.0])
    assert result.mean == pytest.approx(100.0)
    assert result.max_relative_deviation == pytest.approx(0.10)
    assert result.coefficient_of_variation == pytest.approx(np.std([90, 110, 100]) / 100)


def test_balance_against_weighted_targets_when_weights_given() -> None:
    result = balance([200.0, 100.0], weights=[2.0, 1.0])
    assert result.max_relative_deviation == pytest.approx(0.0)


def test_evaluation_reports_coverage_with_opportunity_potential() -> None:
    rules = parse_rules(
        """
version: 1
territories: [{id: T, owner: R1, match: {country: [DE]}}]
coverage:
  capacity_per_rep: 10
  potential: {method: opportunities, default_probability: 0.5, stage_probabilities: {Negotiation: 0.8}}
"""
    )
    accounts = [Account("A", owner_id="R1", country="DE"), Account("B", owner_id="R1", country="DE")]
    opps = [Opportunity("O1", "A", "R1", 1000.0, "negotiation", False), Opportunity("O2", "B", "R1", 1000.0, None, False), Opportunity("O3", "B", "R1", 5000.0, None, True)]
    evaluation = evaluate(accounts, rules, reps=[Rep("R1", capacity=8)], opportunities=opps)
    assert evaluation.facts.potential.tolist() == [800.0, 500.0]
    (r1,) = [c for c in evaluation.coverage() if c.rep_id == "R1"]
    assert (r1.accounts, r1.potential, r1.workload, r1.capacity) == (2, 1300.0, 12.0, 8.0)
