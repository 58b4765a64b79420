"""CP-SAT model over a neighbourhood: some reps, the movable accounts between them.

The same model serves the global solve (all reps, small instances) and every LNS step (one
rep and its geographic neighbours). Accounts outside the neighbourhood stay as they are and
enter only as fixed loads. Data -> Variables -> Constraints -> Objective -> Solve.

Two modes:

- ``repair``: the band is soft; minimise ``(free + 1) * violation + moves`` (any violation
  reduction beats any number of moves), used while the rounded LP plan misses the band;
- ``improve``: the band is hard (a rep already outside it may not get worse) and the
  objective is lexicographic by construction: ``W1 * moves + W2 * moved_potential + travel``
  with ``W2`` above the largest possible travel sum and ``W1`` above ``W2`` times the largest
  possible moved-potential sum of this neighbourhood;
- ``travel``: the band is hard as in ``improve``, moves may not grow (``W1 * moves + travel``
  with ``W1`` above the largest possible travel sum) and the moved potential may grow by at
  most a given allowance; spent at the end of the search, where the lexicographic objective
  leaves travel to ties that coarse moved-potential units rarely produce.

Integers: potential and workload are scaled so the largest free account is 10^6 units; each
rep's bounds are shrunk by half a unit per free arc into it, so any integer solution also
satisfies the float constraints the validator checks. The objective's moved potential and
travel are coarser (100 and 1,000 units for the largest account / arc) to keep the weights
small; moves are exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from territory.planner.candidates import Candidates
from territory.planner.problem import ProblemData
from territory.planner.search_context import SearchContext, moved_potential

LOAD_UNITS = 1e6
INT_BOUND = 2**40
POTENTIAL_TIE_UNITS = 100
TRAVEL_UNITS = 1000
TRAVEL_FINE_UNITS = 100_000  # travel mode: travel is the whole objective, so finer units


@dataclass
class NeighbourhoodResult:
    """Outcome of one neighbourhood solve; ``assign`` is the full new assignment."""

    assign: np.ndarray
    status: str  # CP-SAT status name
    improved: bool
    free_accounts: int


def solve_neighbourhood(
    ctx: SearchContext,
    assign: np.ndarray,
    reps: np.ndarray,
    mode: str,
    deterministic_time: float,
    wall_time: float,
    max_free: int | None = None,
    moved_potential_allowance: float = 0.0,
) -> NeighbourhoodResult:
    """Re-optimise the movable accounts among ``reps`` with the rest fixed.

    Args:
        ctx: Shared search context.
        assign: Current owner position per account (a complete, hard-feasible assignment).
        reps: Rep positions of the neighbourhood.
        mode: ``"repair"`` or ``"improve"`` (see module docstring).
        deterministic_time: CP-SAT deterministic time limit (keeps results reproducible).
        wall_time: Wall-clock safety limit.
        max_free: Free at most this many accounts: moved ones first (they may go back),
            then those closest to another rep of the neighbourhood (the boundary).
        moved_potential_allowance: ``"travel"`` mode only: how much the neighbourhood's
            moved potential may grow (raw potential units).

    Returns:
        The new assignment (unchanged when nothing better was found) and the solve status.
    """
    data, cands = ctx.data, ctx.cands
    in_hood = np.zeros(data.m, dtype=bool)
    in_hood[reps] = True
    arc_ok = in_hood[cands.rep] & ~data.fixed[cands.account] & in_hood[assign[cands.account]]
    per_account = np.bincount(cands.account[arc_ok], minlength=data.n)
    arc_ok &= per_account[cands.account] >= 2
    if max_free is not None:
        arc_ok &= _selected_accounts(ctx, assign, arc_ok, max_free)[cands.account]
    arcs = np.flatnonzero(arc_ok)
    if arcs.size == 0:
        return NeighbourhoodResult(assign, "EMPTY", False, 0)
    model = _Model(ctx, assign, arcs, reps, mode, moved_potential_allowance)
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.random_seed = ctx.seed
    # One worker per neighbourhood: deterministic under a deterministic time limit, and on
    # these models faster than interleaved multi-worker search; parallelism comes from
    # solving disjoint neighbourhoods side by side (planner.lns).
    params.num_workers = 1
    params.max_deterministic_time = max(deterministic_time, 0.01)
    params.max_time_in_seconds = max(wall_time, 0.05)
    status = solver.solve(model.model)
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return NeighbourhoodResult(assign, name, False, model.n_free)
    chosen = np.array([solver.boolean_value(v) for v in model.x], dtype=bool)
    new = assign.copy()
    new[cands.account[arcs[chosen]]] = cands.rep[arcs[chosen]]
    improved = solver.objective_value < model.hint_objective - 0.5
    if improved and mode != "repair" and ctx.violation(new) > ctx.violation(assign) + 1e-12:
        improved = False  # integer rounding of loads crossed a float bound: keep the old plan
    if improved and mode == "travel":
        grown = moved_potential(data, new) - moved_potential(data, assign)
        improved = grown <= moved_potential_allowance + 1e-9 * max(float(data.potential.sum()), 1.0)
    return NeighbourhoodResult(new if improved else assign, name, improved, model.n_free)


def _selected_accounts(ctx: SearchContext, assign: np.ndarray, arc_ok: np.ndarray, max_free: int) -> np.ndarray:
    """Mask of the accounts a capped neighbourhood frees (see ``solve_neighbourhood``)."""
    data, cands = ctx.data, ctx.cands
    account = cands.account[arc_ok]
    # detour: km to the nearest other neighbourhood rep minus km to the current one
    other = cands.rep[arc_ok] != assign[account]
    detour = np.full(data.n, np.inf)
    np.minimum.at(detour, account[other], cands.km[arc_ok][other])
    accounts = np.unique(account)
    detour = detour[accounts] - data.dist[accounts, assign[accounts]]
    moved = assign[accounts] != data.owner[accounts]
    order = np.lexsort((accounts, detour, ~moved))
    chosen = np.zeros(data.n, dtype=bool)
    chosen[accounts[order[:max_free]]] = True
    return chosen


def _clamp(value: float, rounding: Callable[[float], int]) -> int:
    """An integer bound from a float one, kept well inside CP-SAT's int64 domain."""
    if not math.isfinite(value):
        return INT_BOUND if value > 0 else -INT_BOUND
    return int(max(-INT_BOUND, min(INT_BOUND, rounding(value))))


class _Model:
    """The CP-SAT model of one neighbourhood (built in the constructor)."""

    def __init__(
        self, ctx: SearchContext, assign: np.ndarray, arcs: np.ndarray, reps: np.ndarray, mode: str,
        allowance: float = 0.0,
    ) -> None:
        data, cands = ctx.data, ctx.cands
        # -- data
        account = cands.account[arcs]
        rep = cands.rep[arcs]
        free = np.unique(account)
        self.n_free = int(free.size)
        fixed_assign = assign.copy()
        fixed_assign[free] = -1
        keep = fixed_assign >= 0
        fixed_p = np.bincount(fixed_assign[keep], data.potential[keep], minlength=data.m)
        fixed_w = np.bincount(fixed_assign[keep], data.workload[keep], minlength=data.m)
        current = assign[account] == rep
        moving = ~cands.stay[arcs]
        # -- variables
        self.model = cp_model.CpModel()
        self.x = [self.model.new_bool_var(f"x{i}") for i in range(len(arcs))]
        # -- constraints: exactly one owner per free account
        starts = np.searchsorted(account, free)
        ends = np.append(starts[1:], len(arcs))
        for s, e in zip(starts, ends):
            self.model.add_exactly_one(self.x[s:e])
        violation = self._band(ctx, account, rep, reps, fixed_p, fixed_w, assign, mode)
        # -- objective
        if mode == "repair":
            terms = [(i, 1) for i in np.flatnonzero(moving)]
            objective = cp_model.LinearExpr.weighted_sum(
                [self.x[i] for i, _ in terms] + [var for var, _ in violation],
                [1] * len(terms) + [(self.n_free + 1) * weight for _, weight in violation],
            )
            coef = moving.astype(np.int64)
            self.hint_objective = float(coef[current].sum()) + (self.n_free + 1) * self._hint_violation
        elif mode == "travel":
            coef = self._travel_coefficients(data, account, arcs, moving, cands)
            self._cap_moved_potential(data, account, moving, current, allowance)
            objective = cp_model.LinearExpr.weighted_sum(self.x, coef.tolist())
            self.hint_objective = float(coef[current].sum())
        else:
            coef = self._lex_coefficients(data, account, rep, arcs, moving, cands)
            objective = cp_model.LinearExpr.weighted_sum(self.x, coef.tolist())
            self.hint_objective = float(coef[current].sum())
        self.model.minimize(objective)
        # -- hint: the current assignment, complete
        for var, value in zip(self.x, current):
            self.model.add_hint(var, bool(value))

    def _band(
        self,
        ctx: SearchContext,
        account: np.ndarray,
        rep: np.ndarray,
        reps: np.ndarray,
        fixed_p: np.ndarray,
        fixed_w: np.ndarray,
        assign: np.ndarray,
        mode: str,
    ) -> list[tuple[cp_model.IntVar, int]]:
        """Band rows per neighbourhood rep; returns the violation variables and their
        weights (repair only; a capacity breach weighs ``CAPACITY_WEIGHT``)."""
        data = ctx.data
        violation: list[tuple[cp_model.IntVar, int]] = []
        over_weight = ctx.over_weights().astype(np.int64)
        self._hint_violation = 0
        for measure, values, fixed, lo, hi in (
            ("p", data.potential, fixed_p, ctx.lo_p, ctx.hi_p),
            ("w", data.workload, fixed_w, ctx.lo_w, ctx.hi_w),
        ):
            peak = float(values[account].max(initial=0.0))
            scale = LOAD_UNITS / peak if peak > 1e-9 else 1.0
            ints = np.round(values[account] * scale).astype(np.int64)
            for r in reps:
                idx = np.flatnonzero(rep == r)
                if idx.size == 0:
                    continue
                margin = 0.5 * idx.size + 1
                lo_int = _clamp((lo[r] - fixed[r]) * scale + margin, math.ceil)
                hi_int = _clamp((hi[r] - fixed[r]) * scale - margin, math.floor)
                current = int(ints[idx][assign[account[idx]] == r].sum())
                expr = cp_model.LinearExpr.weighted_sum([self.x[i] for i in idx], ints[idx].tolist())
                if mode == "repair":
                    total = int(ints[idx].sum())
                    over = self.model.new_int_var(0, total + abs(hi_int) + 1, f"over_{measure}{r}")
                    under = self.model.new_int_var(0, abs(lo_int) + total + 1, f"under_{measure}{r}")
                    self.model.add(expr - over <= hi_int)
                    self.model.add(expr + under >= lo_int)
                    weight = int(over_weight[r]) if measure == "w" else 1
                    violation += [(over, weight), (under, 1)]
                    self._hint_violation += weight * max(current - hi_int, 0) + max(lo_int - current, 0)
                else:  # never worse than now; the float check after the solve guards rounding
                    self.model.add(expr <= max(hi_int, current))
                    if min(lo_int, current) > 0:
                        self.model.add(expr >= min(lo_int, current))
        return violation

    def _cap_moved_potential(
        self, data: ProblemData, account: np.ndarray, moving: np.ndarray, current: np.ndarray, allowance: float
    ) -> None:
        """Moved potential of the free accounts at most its current value plus ``allowance``.

        Rounded up per arc, so the integer row is stricter than the float one it stands for
        (the current assignment stays feasible; the caller re-checks in floats)."""
        pot = data.potential[account]
        peak = float(pot[moving].max(initial=0.0))
        if peak <= 1e-12:
            return
        scale = LOAD_UNITS / peak
        ints = np.ceil(pot * scale - 1e-9).astype(np.int64) * moving
        now = int(ints[current].sum())
        now_float = float((pot * moving)[current].sum())
        cap = max(now, _clamp((now_float + allowance) * scale, math.floor))
        self.model.add(cp_model.LinearExpr.weighted_sum(self.x, ints.tolist()) <= cap)

    @staticmethod
    def _travel_coefficients(
        data: ProblemData, account: np.ndarray, arcs: np.ndarray, moving: np.ndarray, cands: Candidates
    ) -> np.ndarray:
        """Per-arc ``W1 * move + travel``: never more moves, then least travel."""
        travel = data.workload[account] * cands.km[arcs]
        peak = max(float(travel.max(initial=0.0)), 1e-12)
        travel_int = np.round(travel * TRAVEL_FINE_UNITS / peak).astype(np.int64)
        free = np.unique(account)
        w1 = int(np.maximum.reduceat(travel_int, np.searchsorted(account, free)).sum()) + 1
        return moving * w1 + travel_int

    @staticmethod
    def _lex_coefficients(
        data: ProblemData, account: np.ndarray, rep: np.ndarray, arcs: np.ndarray, moving: np.ndarray, cands: Candidates
    ) -> np.ndarray:
        """Per-arc ``W1 * move + W2 * moved potential + travel`` (provably lexicographic)."""
        travel = data.workload[account] * cands.km[arcs]
        travel_int = np.round(travel * TRAVEL_UNITS / max(float(travel.max(initial=0.0)), 1e-12)).astype(np.int64)
        pot = data.potential[account]
        pot_int = np.round(pot * POTENTIAL_TIE_UNITS / max(float(pot.max(initial=0.0)), 1e-12)).astype(np.int64)
        free = np.unique(account)
        w2 = int(np.maximum.reduceat(travel_int, np.searchsorted(account, free)).sum()) + 1
        w1 = w2 * (int(pot_int[np.searchsorted(account, free)].sum()) + 1)
        return moving * (w1 + w2 * pot_int) + travel_int
