"""Valid lower bounds on the per-account LP from multipliers of the rep, moves and potential rows.

For any multipliers ``y`` of the right signs, ``L(y) = sum_i y_i b_i + sum_a min_arc(cost -
y . column)`` is a lower bound on the per-account LP (Lagrangian relaxation of every row except
"exactly one owner"), hence on every integer plan. The unit LP's duals are a good start; a
short projected subgradient ascent on the per-account function closes most of the gap that
bundling accounts into units opens. With one account per unit the duals are already optimal.

Rows, per active rep: potential <= T_p (1 + delta_p), potential >= T_p (1 - delta_p), the same
for workload, workload <= capacity (+ allowed overflow); then moves <= cap, moved potential <=
cap. Elastic columns of cost ``c`` bound ``|y_i| <= c``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from territory.planner.lp import AssignmentLp

SUBGRADIENT_STEPS = 30


def lagrangian_bound(lp: AssignmentLp, account_cost: np.ndarray, target: float, duals: np.ndarray) -> float:
    """Best of the dual-based bound and a subgradient ascent from it (see module docstring).

    Args:
        lp: The solved unit LP (its band and caps are used).
        account_cost: Cost per ``lp.full`` arc (every candidate arc) in the LP's objective units.
        target: An upper estimate of the optimum (the LP value), for Polyak steps.
        duals: The LP's row duals (unit rows first).
    """
    problem = _Relaxation(lp, account_cost)
    y = problem.project(duals[lp.units.size :].copy())
    best, g = problem.evaluate(y)
    if lp.units.count.max(initial=1.0) <= 1.0 and lp.full is lp.cands:
        return best  # exact LP duals over every arc: nothing to gain
    theta, stall = 1.0, 0
    for _ in range(SUBGRADIENT_STEPS):
        norm = float(g @ g)
        if norm <= 1e-18 or target - best <= 1e-9 * max(abs(target), 1.0):
            break
        y = problem.project(y + theta * (target - best) / norm * g)
        value, g_new = problem.evaluate(y)
        if value > best + 1e-12:
            best, g, stall = value, g_new, 0
        else:
            g, stall = g_new, stall + 1
            if stall >= 5:
                theta, stall = theta / 2, 0
    return best


def priced_arcs(lp: AssignmentLp, account_cost: np.ndarray, duals: np.ndarray) -> tuple[float, np.ndarray]:
    """``L(y)`` at the LP's own side-row duals (a valid bound, no ascent) and every arc's
    priced cost, for column generation (``planner.lp``).

    Args:
        lp: The solved LP.
        account_cost: Cost per ``lp.full`` arc in the LP's objective units.
        duals: The LP's row duals (unit rows first).
    """
    problem = _Relaxation(lp, account_cost)
    y = problem.project(duals[lp.units.size :].copy())
    return problem.evaluate(y)[0], problem.price(y)


class _Relaxation:
    """Arrays of the relaxed per-account problem."""

    def __init__(self, lp: AssignmentLp, account_cost: np.ndarray) -> None:
        data, cands, k = lp.data, lp.full, lp.reps.size
        self.lp, self.k, self.cost = lp, k, account_cost
        self.start = cands.start
        rep_pos = np.zeros(data.m, dtype=np.int64)
        rep_pos[lp.reps] = np.arange(k)
        self.arc_rep = rep_pos[cands.rep]
        self.p = data.potential[cands.account] / lp.scale_p
        self.w = data.workload[cands.account] / lp.scale_w
        self.moving = (~cands.stay).astype(np.float64)
        delta_p, delta_w, overflow = lp.band
        tp, tw = data.target_p[lp.reps] / lp.scale_p, data.target_w[lp.reps] / lp.scale_w
        extra = lp.extra
        rhs = np.stack([tp * (1 + delta_p) + extra[:, 0], tp * (1 - delta_p) - extra[:, 1],
                        tw * (1 + delta_w) + extra[:, 2], tw * (1 - delta_w) - extra[:, 3],
                        lp.cap_rhs + overflow], axis=1).ravel()
        self.rhs = np.concatenate([rhs, lp.caps])
        self.upper_rows = np.concatenate([np.tile([True, False, True, False, True], k), [True, True]])
        self.limit = np.abs(lp.stage_cost[lp.col_delta + 2 :])  # elastic cost caps |y|
        self.free_rows = ~np.isfinite(self.rhs) | (self.rhs >= 1e29)

    def project(self, y: np.ndarray) -> np.ndarray:
        y = np.where(self.upper_rows, np.minimum(y, 0.0), np.maximum(y, 0.0))
        cap = np.concatenate([self.limit, [np.inf, np.inf]])
        y = np.clip(y, -cap, cap)
        return np.where(self.free_rows, 0.0, y)

    def price(self, y: np.ndarray) -> np.ndarray:
        """Each arc's cost minus the side rows' multipliers times its column."""
        k = self.k
        yr = y[: 5 * k].reshape(k, 5)[self.arc_rep]
        priced = self.cost - self.p * (yr[:, 0] + yr[:, 1]) - self.w * (yr[:, 2] + yr[:, 3] + yr[:, 4])
        return priced - self.moving * (y[5 * k] + self.p * y[5 * k + 1])

    def evaluate(self, y: np.ndarray) -> tuple[float, np.ndarray]:
        """``L(y)`` and a subgradient (``b - A x*``, x* the priced-cheapest arcs)."""
        k = self.k
        priced = self.price(y)
        lengths = np.diff(self.start)
        best = np.minimum.reduceat(priced, self.start[:-1]) if priced.size else np.zeros(0)
        cheapest = priced <= np.repeat(best, lengths) + 1e-12
        first = np.flatnonzero(cheapest)
        first = first[np.unique(np.searchsorted(self.start, first, side="right") - 1, return_index=True)[1]]
        rep = self.arc_rep[first]
        used = np.zeros(5 * k + 2)
        load_p = np.bincount(rep, self.p[first], minlength=k)
        load_w = np.bincount(rep, self.w[first], minlength=k)
        used[: 5 * k] = np.stack([load_p, load_p, load_w, load_w, load_w], axis=1).ravel()
        used[5 * k] = self.moving[first].sum()
        used[5 * k + 1] = (self.moving[first] * self.p[first]).sum()
        rhs = np.where(self.free_rows, 0.0, self.rhs)
        value = float(y @ rhs + best.sum())
        return value, np.where(self.free_rows, 0.0, rhs - used)
