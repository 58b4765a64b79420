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

from dataclasses import dataclass

import numpy as np

SUBGRADIENT_STEPS = 30


@dataclass(frozen=True)
class SideRows:
    """The LP's rows other than "exactly one owner", over every candidate arc (built by
    ``planner.lp.AssignmentLp.side_rows``; normalised units).

    Attributes:
        start: Arcs of account ``i`` are ``start[i]:start[i + 1]``.
        arc_rep: Each arc's rep as a position among the active reps.
        p: Normalised potential per arc.
        w: Normalised workload per arc.
        moving: 1.0 where the arc moves the account, else 0.0.
        rhs: Right-hand side per side row (five per active rep, then moves and moved potential).
        upper_rows: True for ``<=`` rows (multiplier <= 0), False for ``>=`` rows.
        limit: Elastic column cost per band and capacity row (bounds ``|y|``).
        free_rows: Rows without a finite right-hand side (multiplier 0).
        first_row: Index of the first side row in the LP's dual vector.
        exact: The LP's duals are already optimal for the per-account problem (single
            accounts over every arc): no ascent needed.
    """

    start: np.ndarray
    arc_rep: np.ndarray
    p: np.ndarray
    w: np.ndarray
    moving: np.ndarray
    rhs: np.ndarray
    upper_rows: np.ndarray
    limit: np.ndarray
    free_rows: np.ndarray
    first_row: int
    exact: bool

    @property
    def reps(self) -> int:
        return (self.rhs.size - 2) // 5

    def side_duals(self, duals: np.ndarray) -> np.ndarray:
        return duals[self.first_row : self.first_row + self.rhs.size].copy()


def lagrangian_bound(rows: SideRows, account_cost: np.ndarray, target: float, duals: np.ndarray) -> float:
    """Best of the dual-based bound and a subgradient ascent from it (see module docstring).

    Args:
        rows: The solved LP's side rows (its band and caps) over every candidate arc.
        account_cost: Cost per candidate arc in the LP's objective units.
        target: An upper estimate of the optimum (the LP value), for Polyak steps.
        duals: The LP's row duals (unit rows first).
    """
    problem = _Relaxation(rows, account_cost)
    y = problem.project(rows.side_duals(duals))
    best, g = problem.evaluate(y)
    if rows.exact:
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


def priced_arcs(rows: SideRows, account_cost: np.ndarray, duals: np.ndarray) -> tuple[float, np.ndarray]:
    """``L(y)`` at the LP's own side-row duals (a valid bound, no ascent) and every arc's
    priced cost, for column generation (``planner.lp``).

    Args:
        rows: The solved LP's side rows over every candidate arc.
        account_cost: Cost per candidate arc in the LP's objective units.
        duals: The LP's row duals (unit rows first).
    """
    problem = _Relaxation(rows, account_cost)
    y = problem.project(rows.side_duals(duals))
    return problem.evaluate(y)[0], problem.price(y)


class _Relaxation:
    """Arrays of the relaxed per-account problem."""

    def __init__(self, rows: SideRows, account_cost: np.ndarray) -> None:
        self.k, self.cost = rows.reps, account_cost
        self.start, self.arc_rep = rows.start, rows.arc_rep
        self.p, self.w, self.moving = rows.p, rows.w, rows.moving
        self.rhs, self.upper_rows = rows.rhs, rows.upper_rows
        self.limit, self.free_rows = rows.limit, rows.free_rows

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
