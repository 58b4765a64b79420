"""Moves-neutral travel search: fewer km without more moves, moved potential or band violation."""

from __future__ import annotations

import time

import numpy as np

from territory.planner.band import find_band
from territory.planner.cpsat_model import solve_neighbourhood
from territory.planner.instance import Instance, PlanAccount, PlanOptions, PlanRep
from territory.planner.lns import SearchLog, greedy_repair, reduce_travel, round_lp
from territory.planner.problem import build_problem_data
from territory.planner.search_context import build_search_context, moved_potential
from territory.planner.validate import validate_plan
from tests.test_planner_solve_instances import make_instance


def _travel(data: object, assign: np.ndarray) -> float:
    return float((data.workload * data.dist[np.arange(data.n), assign]).sum())  # type: ignore[attr-defined]


def _context(instance: Instance, options: PlanOptions):  # type: ignore[no-untyped-def]
    data = build_problem_data(instance)
    band, lp, _ = find_band(data, options, time_limit=20.0)
    return data, lp, build_search_context(data, lp, band, options)


def test_crossed_moves_are_uncrossed_when_travel_search_runs() -> None:
    # A (Berlin) holds two accounts too many: one lies next to B (Hamburg), one next to C (Munich)
    reps = tuple(PlanRep(id=r, name=r, lat=la, lon=lo, capacity=100.0)
                 for r, la, lo in (("A", 52.5, 13.4), ("B", 53.55, 10.0), ("C", 48.14, 11.58)))
    spots = [(52.5, 13.3), (52.6, 13.5), (53.5, 10.1), (48.2, 11.6), (53.6, 9.9), (48.1, 11.5)]
    owners = ["A", "A", "A", "A", "B", "C"]
    accounts = tuple(PlanAccount(id=f"X{i}", name=f"X{i}", owner_id=o, lat=la, lon=lo, potential=1.0, workload=1.0)
                     for i, ((la, lo), o) in enumerate(zip(spots, owners)))
    instance = Instance(accounts=accounts, reps=reps)
    options = PlanOptions(tolerance=0.0, reach=3, time_limit=10.0)
    data, _, ctx = _context(instance, options)
    crossed = data.owner.copy()
    crossed[2], crossed[3] = 2, 1  # the Hamburg account to the Munich rep and vice versa
    assert ctx.violation(crossed) <= 1e-12
    result = solve_neighbourhood(ctx, crossed, np.arange(3), "travel", 1.0, 5.0)
    assert result.improved
    assert list(result.assign[2:4]) == [1, 2]
    assert np.count_nonzero(result.assign != data.owner) == 2
    assert _travel(data, result.assign) < _travel(data, crossed)


def test_travel_search_keeps_moves_band_and_moved_potential_when_run_on_a_repaired_plan() -> None:
    instance = make_instance(1500, 8, seed=3)
    options = PlanOptions(time_limit=20.0)
    data, lp, ctx = _context(instance, options)
    start = lp.min_moves(options.tolerance, options.tolerance, np.zeros(lp.reps.size), 10.0)
    assign = greedy_repair(ctx, round_lp(lp, start.x), deadline=float("inf"))
    assert ctx.violation(assign) <= 1e-12
    cap = moved_potential(data, assign) * 1.02
    log = SearchLog(converged=True)  # as if the moves search had converged
    better = reduce_travel(ctx, assign, float("inf"), log, lambda _line: None, cap)
    assert log.converged  # ended on its own, not by the deadline
    cut = SearchLog(converged=True)
    reduce_travel(ctx, assign, time.monotonic(), cut, lambda _line: None, cap)
    assert not cut.converged  # stopped by the clock: the plan would depend on timing
    assert np.count_nonzero(better != data.owner) <= np.count_nonzero(assign != data.owner)
    assert moved_potential(data, better) <= cap * (1 + 1e-9)
    assert ctx.violation(better) <= 1e-12
    assert _travel(data, better) <= _travel(data, assign)
    ids = [a.id for a in instance.accounts]
    rep_ids = [r.id for r in instance.reps]
    assert validate_plan(instance, options, {ids[a]: rep_ids[r] for a, r in enumerate(better)}) == []
