"""LP relaxation of the assignment: lower bounds, the reachable balance band, a warm start.

One HiGHS model (``highspy``) is built over the sparse candidate arcs of *units* (bundles of
similar accounts with the same owner and arcs, see ``planner.candidates.build_units``; one
account per unit when the instance is small) and re-solved with changed costs and bounds, so
each stage warm-starts from the previous basis:

- *violation*: least band violation and capacity overflow at the tolerance, only when the
  tolerance is out of reach (it names the reps that bind, for widening and explanations);
- *moves*: fewest moved accounts (then least moved potential) inside the band;
- *travel*: least workload-weighted km with moves (and moved potential) capped; its vertex
  is the warm start the CP-SAT phases round and repair.

Bounds are *Lagrangian*: the duals of the unit LP priced on the per-account problem give a
valid lower bound on the per-account LP (hence on every integer plan), exact when units are
single accounts. That is ``lp_lower_bound_moves`` and the travel bound of the benchmark.

Columns: one per unit arc, then ``delta_p``, ``delta_w`` (the band, fixed per stage), four
elastic slacks per rep (potential over/under, workload over/under) and one capacity overflow
per rep; stage costs decide whether the elastic columns may be used. Rows: one "exactly one
owner" row per unit, five per active rep (potential upper/lower, workload upper/lower,
capacity), a moves row and a moved-potential row. Loads are normalised by the mean target.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass

import highspy
import numpy as np

from planner.candidates import (
    Candidates,
    ProblemData,
    Units,
    base_mask,
    build_candidates,
    build_problem_data,
    build_units,
    widen_candidates,
)
from planner.instance import Instance, PlanOptions
from planner.lagrangian import lagrangian_bound

_INF = highspy.kHighsInf


def quiet_highs() -> highspy.Highs:
    """A HiGHS instance with no output: its constructor prints a licence banner on the C
    stdout, which would land in the middle of `territory plan`'s own output."""
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    return highs
OVERFLOW_COST = 1e4  # per unit of normalised workload above capacity: capacity beats balance
ELASTIC_COST = 1e5  # per normalised unit of band violation while the band must hold
MOVED_POTENTIAL_TIE = 1e-3  # moves first; moved potential only breaks ties (<= 1e-3 move each)
MAX_LP_UNITS = 12_000  # up to this many accounts the LP is exact (one account per unit)
BUNDLED_LP_UNITS = 12_000  # above it, accounts are bundled to about this many units


@dataclass
class LpSolution:
    """One LP stage result over unit arcs; ``ok`` is False on failure or time-out."""

    ok: bool
    x: np.ndarray
    moves: float
    moved_potential: float
    travel: float
    violation: float  # total elastic slack (normalised)
    overflow: np.ndarray  # normalised workload above capacity, per active rep
    bound: float = -math.inf  # Lagrangian lower bound of the stage objective (per account)
    solved: bool = False  # HiGHS reached optimality (possibly using elastic columns)


class AssignmentLp:
    """The warm-started LP over one candidate set (see module docstring)."""

    def __init__(self, data: ProblemData, cands: Candidates, tolerance: float, exact: bool = False) -> None:
        self.data, self.cands, self.tolerance = data, cands, tolerance
        self.units = build_units(data, cands, data.n if exact or data.n <= MAX_LP_UNITS else BUNDLED_LP_UNITS)
        self.reps = np.flatnonzero(data.active)
        k = self.reps.size
        self.scale_p = max(data.target_p.sum(), 1e-12) / max(k, 1)
        self.scale_w = max(data.target_w.sum(), 1e-12) / max(k, 1)
        u = self.units
        self.n_arcs = u.arc_unit.size
        self.moving = ~u.arc_stay
        self.arc_count = u.count[u.arc_unit]
        self.arc_potential = u.potential[u.arc_unit] / self.scale_p
        self.travel_scale = max(float(u.arc_travel.max(initial=0.0)), 1e-9)
        self.col_delta = self.n_arcs
        self.rows_moves = u.size + 5 * k
        self.rep_row = np.full(data.m, -1, dtype=np.int64)
        self.rep_row[self.reps] = u.size + 5 * np.arange(k)
        self.stage_cost = np.zeros(self.n_arcs)
        self.band: tuple[float, float, np.ndarray] = (tolerance, tolerance, np.zeros(self.reps.size))
        self.caps: tuple[float, float] = (_INF, _INF)
        self.extra = np.zeros((self.reps.size, 4))  # per-rep band beyond delta (best effort)
        self.highs = quiet_highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("random_seed", 0)
        self.highs.passModel(self._build())

    def _build(self) -> highspy.HighsLp:
        data, u, reps, k = self.data, self.units, self.reps, self.reps.size
        base = self.rep_row[u.arc_rep]
        p = u.potential[u.arc_unit] / self.scale_p
        w = u.workload[u.arc_unit] / self.scale_w
        moves_row = np.where(self.moving, self.rows_moves, -1)
        pot_row = np.where(self.moving, self.rows_moves + 1, -1)
        rows = np.stack([u.arc_unit, base, base + 1, base + 2, base + 3, base + 4, moves_row, pot_row], axis=1)
        vals = np.stack([np.ones(self.n_arcs), p, p, w, w, w, self.arc_count, p], axis=1)
        keep = rows >= 0
        counts = keep.sum(axis=1)
        r5 = u.size + 5 * np.arange(k)
        tp, tw = data.target_p[reps] / self.scale_p, data.target_w[reps] / self.scale_w
        self.cap_rhs = data.capacity[reps] / self.scale_w
        col_rows = [rows[keep], np.stack([r5, r5 + 1], 1).ravel(), np.stack([r5 + 2, r5 + 3], 1).ravel()]
        col_rows += [np.stack([r5, r5 + 1, r5 + 2, r5 + 3], 1).ravel(), r5 + 4]
        col_vals = [vals[keep], np.stack([-tp, tp], 1).ravel(), np.stack([-tw, tw], 1).ravel()]
        col_vals += [np.tile([-1.0, 1.0, -1.0, 1.0], k), -np.ones(k)]
        lengths = np.concatenate([counts, [2 * k, 2 * k], np.ones(5 * k, dtype=np.int64)])
        lp = highspy.HighsLp()
        lp.num_col_ = self.n_arcs + 2 + 5 * k
        lp.num_row_ = u.size + 5 * k + 2
        lp.col_cost_ = np.zeros(lp.num_col_)
        lp.col_lower_ = np.concatenate([np.zeros(self.n_arcs), [self.tolerance] * 2, np.zeros(5 * k)])
        lp.col_upper_ = np.concatenate([np.ones(self.n_arcs), [self.tolerance] * 2, np.full(5 * k, _INF)])
        lower = np.stack([np.full(k, -_INF), tp, np.full(k, -_INF), tw, np.full(k, -_INF)], 1).ravel()
        upper = np.stack([tp, np.full(k, _INF), tw, np.full(k, _INF), self.cap_rhs], 1).ravel()
        lp.row_lower_ = np.concatenate([np.ones(u.size), lower, [-_INF, -_INF]])
        lp.row_upper_ = np.concatenate([np.ones(u.size), upper, [_INF, _INF]])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
        lp.a_matrix_.index_ = np.concatenate(col_rows).astype(np.int32)
        lp.a_matrix_.value_ = np.concatenate(col_vals)
        self.col_lower = np.asarray(lp.col_lower_)
        return lp

    # -- stages ---------------------------------------------------------------------------

    def min_violation(self, time_limit: float) -> LpSolution:
        """Least total band violation (elastic slacks) and capacity overflow at the tolerance."""
        k = self.reps.size
        self._set_costs(np.zeros(self.n_arcs), np.concatenate([np.ones(4 * k), np.full(k, OVERFLOW_COST)]))
        self._set_band(self.tolerance, self.tolerance, np.zeros(k))
        self._set_caps(_INF, _INF)
        return self._run(time_limit, exact=False)

    def set_extra(self, extra: np.ndarray) -> None:
        """Widen each rep's band rows by its own extra ``[k, 4]`` (normalised units)."""
        k = self.reps.size
        self.extra = extra
        tp = self.data.target_p[self.reps] / self.scale_p
        tw = self.data.target_w[self.reps] / self.scale_w
        r5 = self.units.size + 5 * np.arange(k)
        rows = np.stack([r5, r5 + 1, r5 + 2, r5 + 3], axis=1).ravel().astype(np.int32)
        lower = np.stack([np.full(k, -_INF), tp - extra[:, 1], np.full(k, -_INF), tw - extra[:, 3]], axis=1).ravel()
        upper = np.stack([tp + extra[:, 0], np.full(k, _INF), tw + extra[:, 2], np.full(k, _INF)], axis=1).ravel()
        self.highs.changeRowsBounds(rows.size, rows, lower, upper)

    def min_moves(self, delta_p: float, delta_w: float, overflow: np.ndarray, time_limit: float) -> LpSolution:
        """Fewest moves (ties: least moved potential) inside the band; bound on moves."""
        tie = MOVED_POTENTIAL_TIE * self.arc_potential / max(float(self.arc_potential.max(initial=0.0)), 1e-12)
        self._set_costs(self.moving * (self.arc_count + tie), self._elastic_costs())
        self._set_band(delta_p, delta_w, overflow)
        self._set_caps(_INF, _INF)
        result = self._run(time_limit, exact=True)
        if result.ok:
            result.bound = lagrangian_bound(self, ~self.cands.stay * 1.0, target=result.moves)
        return result

    def min_travel(self, max_moves: float, max_moved_potential: float, time_limit: float) -> LpSolution:
        """Least workload-weighted km with moves and moved potential capped (band kept)."""
        self._set_costs(self.units.arc_travel / self.travel_scale, self._elastic_costs())
        self._set_caps(max_moves, max_moved_potential)
        result = self._run(time_limit, exact=True)
        if result.ok:
            travel = self.data.workload[self.cands.account] * self.cands.km
            scaled = lagrangian_bound(self, travel / self.travel_scale, target=result.travel / self.travel_scale)
            result.bound = scaled * self.travel_scale
        return result

    def _elastic_costs(self) -> np.ndarray:
        """Band slack at ``ELASTIC_COST``; capacity overflow far above it (hard rule first)."""
        k = self.reps.size
        return np.concatenate([np.full(4 * k, ELASTIC_COST), np.full(k, ELASTIC_COST * OVERFLOW_COST)])

    def _set_costs(self, arc_cost: np.ndarray, rep_cost: np.ndarray) -> None:
        self.stage_cost = np.concatenate([arc_cost, [0.0, 0.0], rep_cost])
        cols = np.arange(self.stage_cost.size, dtype=np.int32)
        self.highs.changeColsCost(cols.size, cols, self.stage_cost)

    def set_band(self, delta_p: float, delta_w: float, overflow: np.ndarray) -> None:
        """Use this band in the following stages (``min_travel`` keeps the last one set)."""
        self._set_band(delta_p, delta_w, overflow)

    def _set_band(self, delta_p: float, delta_w: float, overflow: np.ndarray) -> None:
        """Fix the band and the allowed capacity overflow (elastic columns stay open)."""
        k = self.reps.size
        cols = np.arange(self.col_delta, self.col_delta + 2, dtype=np.int32)
        self.highs.changeColsBounds(2, cols, np.array([delta_p, delta_w]), np.array([delta_p, delta_w]))
        rows = (self.units.size + 5 * np.arange(k) + 4).astype(np.int32)
        self.highs.changeRowsBounds(k, rows, np.full(k, -_INF), self.cap_rhs + np.minimum(overflow, 1e30))
        self.band = (delta_p, delta_w, np.minimum(overflow, 1e30))

    def _set_caps(self, max_moves: float, max_moved_potential: float) -> None:
        self.caps = (max_moves, max_moved_potential)
        self.highs.changeRowBounds(self.rows_moves, -_INF, max_moves)
        self.highs.changeRowBounds(self.rows_moves + 1, -_INF, max_moved_potential)

    def _run(self, time_limit: float, exact: bool) -> LpSolution:
        """Solve; with ``exact`` the elastic columns must end at zero for the result to count."""
        # HiGHS counts its time limit over the object's whole life, across runs
        self.highs.setOptionValue("time_limit", self.highs.getRunTime() + max(float(time_limit), 0.05))
        self.highs.run()
        ok = self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
        k = self.reps.size
        values = np.asarray(self.highs.getSolution().col_value) if ok else np.zeros(self.n_arcs + 2 + 5 * k)
        x = np.clip(values[: self.n_arcs], 0.0, 1.0)
        tail = values[self.col_delta + 2 :]
        violation = float(tail[: 4 * k].sum())
        return LpSolution(
            ok=ok and (not exact or violation + float(tail[4 * k :].sum()) <= 1e-6 * max(k, 1)),
            x=x,
            moves=float((x * self.arc_count)[self.moving].sum()),
            moved_potential=float((x * self.arc_potential)[self.moving].sum()),
            travel=float((x * self.units.arc_travel).sum()),
            violation=violation,
            overflow=tail[4 * k :],
            solved=ok,
        )

    def loads(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Potential and workload per active rep of a (fractional) unit-arc solution."""
        u, m = self.units, self.data.m
        load_p = np.bincount(u.arc_rep, x * u.potential[u.arc_unit], minlength=m)[self.reps]
        load_w = np.bincount(u.arc_rep, x * u.workload[u.arc_unit], minlength=m)[self.reps]
        return load_p, load_w

    def max_deviations(self, x: np.ndarray) -> tuple[float, float]:
        """Max relative deviation of potential and workload over active reps."""
        load_p, load_w = self.loads(x)
        dev_p = np.abs(load_p / np.maximum(self.data.target_p[self.reps], 1e-12) - 1.0)
        dev_w = np.abs(load_w / np.maximum(self.data.target_w[self.reps], 1e-12) - 1.0)
        return float(dev_p.max(initial=0.0)), float(dev_w.max(initial=0.0))


def travel_lower_bound(instance: Instance, options: PlanOptions, max_moves: int) -> float:
    """LP lower bound on workload-weighted km for plans with at most ``max_moves`` moves.

    Same reach and balance band as :func:`planner.solve.solve` uses (including widened
    arcs and a best-effort band when the tolerance is out of reach).

    Args:
        instance: The planning instance.
        options: Planner options (tolerance, reach).
        max_moves: The moves budget, typically the plan's own number of moves.

    Returns:
        The bound in workload x km, or ``math.inf`` when no plan has that few moves.
    """
    data = build_problem_data(instance)
    # one account per unit at every size: exact LP duals, so the bound is the LP value itself
    # (the bundled LP the planner uses within its time limit gives a looser Lagrangian bound)
    _, lp, _ = find_band(data, options, time_limit=600.0, exact=True)
    result = lp.min_travel(max_moves + 1e-6, _INF, time_limit=600.0)
    return result.bound if result.ok else math.inf


@dataclass
class Band:
    """The candidate set and balance band the integer phases work in."""

    cands: Candidates
    delta_p: float
    delta_w: float
    overflow: np.ndarray  # allowed normalised capacity overflow per active rep (0 when feasible)
    widened_rounds: int
    reachable: bool  # the tolerance holds in the LP relaxation at this reach
    max_delta: tuple[float, float] = (0.0, 0.0)  # smallest common max deviation (best effort)
    extra: np.ndarray | None = None  # [k, 4] normalised per-rep band beyond delta (best effort)


def find_band(
    data: ProblemData, options: PlanOptions, time_limit: float, exact: bool = False
) -> tuple[Band, AssignmentLp, LpSolution]:
    """Candidates and band: the base reach, widened only for the accounts that need it.

    1. min moves at the tolerance over the base reach: done when feasible (the usual case);
    2. else the elastic solution names the reps that cannot reach their band; the accounts
       of over-full reps gain arcs to their nearest reps with room, and accounts near
       under-full reps gain arcs to them (reach doubled per round), while that helps;
    3. if still short, each rep's band widens by exactly the excess the least-violation LP
       gives it (capacity overflow kept at its minimum): the reps that bind take it, every
       other rep keeps the tolerance.

    Every LP call shares one deadline (``time_limit`` from now). With ``exact`` the LP has
    one account per unit at every size (slow at 50,000 accounts: for offline bounds).

    Returns:
        The band, the LP built over its candidates, and that LP's min-moves solution.
    """
    deadline = time.monotonic() + time_limit
    left = lambda: max(deadline - time.monotonic(), 0.05)  # noqa: E731
    tol = options.tolerance
    base = base_mask(data, options.reach)
    mask = base
    lp = AssignmentLp(data, build_candidates(data, mask, base), tol, exact)
    zero = np.zeros(lp.reps.size)
    best = lp.min_moves(tol, tol, zero, left())
    if best.ok:
        return Band(lp.cands, tol, tol, zero, 0, True), lp, best
    rounds, k = 0, options.reach
    while best.solved and _badness(best) > 1e-9 and k < data.m and time.monotonic() < deadline:
        k = min(2 * k, data.m)
        short, long = _binding_reps(lp, best)
        wider = widen_candidates(data, mask, short, long, k)
        trial = AssignmentLp(data, build_candidates(data, wider, base), tol, exact)
        sol = trial.min_moves(tol, tol, zero, left())
        if not (sol.solved and _badness(sol) < _badness(best) - 1e-6):
            break
        mask, lp, best, rounds = wider, trial, sol, rounds + 1
    if best.ok:
        return Band(lp.cands, tol, tol, zero, rounds, True), lp, best
    best = lp.min_violation(left())  # warm; weighs capacity overflow far above balance
    overflow = best.overflow * (1 + 1e-6) + 1e-9 * (best.overflow > 0) if best.solved else np.full(lp.reps.size, _INF)
    # every rep only as far beyond the tolerance as the least total excess forces it: the
    # binding reps (a lone specialist, a rep full of locked accounts) take it, the rest keep
    # the tolerance
    extra = sol_slacks(lp, best) * (1 + 1e-6) + 1e-9
    lp.set_extra(extra)
    moves = lp.min_moves(tol, tol, overflow, left())
    widest = lp.max_deviations(moves.x if moves.solved else best.x)
    return Band(lp.cands, tol, tol, overflow, rounds, False, widest, extra), lp, moves


def _badness(sol: LpSolution) -> float:
    return sol.violation + OVERFLOW_COST * float(sol.overflow.sum())


def _widening_steps(reach: int, m: int) -> list[int]:
    steps, k = [], reach
    while k < m:
        k = min(2 * k, m)
        steps.append(k)
    return steps


def _binding_reps(lp: AssignmentLp, sol: LpSolution) -> tuple[np.ndarray, np.ndarray]:
    """Reps below their band (short) or above it / over capacity (long) in the elastic LP."""
    k = lp.reps.size
    slack = sol_slacks(lp, sol)
    short = (slack[:, 1] > 1e-9) | (slack[:, 3] > 1e-9)
    long = (slack[:, 0] > 1e-9) | (slack[:, 2] > 1e-9) | (sol.overflow[:k] > 1e-9)
    return lp.reps[short], lp.reps[long]


def sol_slacks(lp: AssignmentLp, sol: LpSolution) -> np.ndarray:
    """[k, 4] elastic slacks (potential over, under, workload over, under) per active rep."""
    load_p, load_w = lp.loads(sol.x)
    tp, tw = lp.data.target_p[lp.reps], lp.data.target_w[lp.reps]
    tol = lp.tolerance
    return np.stack(
        [
            np.maximum(load_p - tp * (1 + tol), 0) / lp.scale_p,
            np.maximum(tp * (1 - tol) - load_p, 0) / lp.scale_p,
            np.maximum(load_w - tw * (1 + tol), 0) / lp.scale_w,
            np.maximum(tw * (1 - tol) - load_w, 0) / lp.scale_w,
        ],
        axis=1,
    )
