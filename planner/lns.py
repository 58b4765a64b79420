"""Integer phases: round the LP, repair the band, then large-neighbourhood search.

A *neighbourhood* is one rep plus the reps it trades accounts with most (counted over the
candidate arcs of their current accounts: the reps on the other side of its territory's
boundary). Each step frees the movable accounts among those reps and re-solves them with
CP-SAT (``planner.cpsat_model``), the rest fixed.

- :func:`round_lp` turns the LP vertex into a complete assignment (most values are 0/1; the
  fractional ones go to their largest share, bundles are split by largest remainder);
- :func:`repair` works on the worst rep outside its band, widening the neighbourhood when a
  step makes no progress, until the band holds or nothing helps;
- :func:`improve` sweeps every rep in a fixed order (fewer moves, then less moved potential,
  then less travel) until a full sweep finds nothing or the budget runs out.

Every step is deterministic (fixed seed, deterministic time limits), so the result depends
only on the number of steps; when a sweep converges before the wall-clock budget ends, the
plan is the same on every run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from planner.cpsat_model import SearchContext, solve_neighbourhood
from planner.lp import AssignmentLp

NEIGHBOURHOOD_REPS = 5
STEP_DETERMINISTIC_TIME = 1.5


@dataclass
class SearchLog:
    """What the integer phases did (for metrics and progress lines)."""

    steps: int = 0
    improving_steps: int = 0
    sweeps: int = 0
    converged: bool = False
    statuses: dict[str, int] = field(default_factory=dict)

    def record(self, status: str, improved: bool) -> None:
        self.steps += 1
        self.improving_steps += int(improved)
        self.statuses[status] = self.statuses.get(status, 0) + 1


def round_lp(lp: AssignmentLp, x: np.ndarray) -> np.ndarray:
    """Complete assignment from a unit-arc LP solution (largest remainder per unit)."""
    units, data = lp.units, lp.data
    assign = np.full(data.n, -1, dtype=np.int64)
    for u in range(units.size):
        arcs = np.arange(units.arc_start[u], units.arc_start[u + 1])
        members = units.order[units.start[u] : units.start[u + 1]]
        share = x[arcs] * members.size
        counts = np.floor(share + 1e-9).astype(np.int64)
        short = members.size - int(counts.sum())
        if short > 0:
            counts[np.argsort(-(share - counts), kind="stable")[:short]] += 1
        elif short < 0:  # round-off above the unit size: trim the smallest shares
            for i in np.argsort(share, kind="stable"):
                take = min(counts[i], -short)
                counts[i] -= take
                short += take
        # moves first (largest potential first: members are sorted that way), stay last
        ranked = sorted(range(arcs.size), key=lambda i: (units.arc_stay[arcs[i]], -counts[i], i))
        reps = np.repeat(units.arc_rep[arcs[ranked]], counts[ranked])
        assign[members] = reps
    return assign


def neighbour_order(ctx: SearchContext, assign: np.ndarray) -> np.ndarray:
    """[m, m] rep adjacency: accounts of one rep with a candidate arc to the other."""
    cands = ctx.cands
    owner = assign[cands.account]
    other = cands.rep != owner
    m = ctx.data.m
    adjacency = np.zeros((m, m))
    np.add.at(adjacency, (owner[other], cands.rep[other]), 1.0)
    adjacency += adjacency.T
    adjacency[~ctx.data.active] = -1
    adjacency[:, ~ctx.data.active] = -1
    return adjacency


def neighbourhood(adjacency: np.ndarray, seed_rep: int, size: int) -> np.ndarray:
    """The seed rep plus the ``size - 1`` reps it shares the most boundary with."""
    row = adjacency[seed_rep].copy()
    row[seed_rep] = -np.inf
    ranked = np.argsort(-row, kind="stable")
    partners = [int(r) for r in ranked[: size - 1] if row[r] >= 0]
    return np.array([seed_rep, *partners], dtype=np.int64)


def repair(
    ctx: SearchContext, assign: np.ndarray, deadline: float, log: SearchLog, progress: Callable[[str], None]
) -> np.ndarray:
    """Drive the band violation to zero, worst rep first, widening on stagnation."""
    size = NEIGHBOURHOOD_REPS
    active = np.flatnonzero(ctx.data.active)
    while ctx.violation(assign) > 1e-12 and time.monotonic() < deadline:
        worst = _worst_rep(ctx, assign)
        adjacency = neighbour_order(ctx, assign)
        reps = active if size >= active.size else neighbourhood(adjacency, worst, size)
        before = ctx.violation(assign)
        result = solve_neighbourhood(
            ctx, assign, reps, "repair", STEP_DETERMINISTIC_TIME * 2, deadline - time.monotonic()
        )
        better = result.improved and ctx.violation(result.assign) < before - 1e-12
        log.record(result.status, better)
        if better:
            assign = result.assign
            progress(f"repair: band violation {ctx.violation(assign):.4f} (rep {worst}, {result.free_accounts} free)")
        elif size >= active.size:
            break
        else:
            size *= 2
    return assign


def _worst_rep(ctx: SearchContext, assign: np.ndarray) -> int:
    load_p, load_w = ctx.loads(assign)
    tp = np.maximum(ctx.data.target_p, 1e-12)
    tw = np.maximum(ctx.data.target_w, 1e-12)
    over = (np.maximum(load_p - ctx.hi_p, 0) + np.maximum(ctx.lo_p - load_p, 0)) / tp
    over += (np.maximum(load_w - ctx.hi_w, 0) + np.maximum(ctx.lo_w - load_w, 0)) / tw
    over[~ctx.data.active] = -1
    return int(np.argmax(over))


def improve(
    ctx: SearchContext,
    assign: np.ndarray,
    deadline: float,
    log: SearchLog,
    progress: Callable[[str], None],
    size: int = NEIGHBOURHOOD_REPS,
) -> np.ndarray:
    """Sweep neighbourhoods rep by rep until a sweep finds nothing or time runs out."""
    active = np.flatnonzero(ctx.data.active)
    while time.monotonic() < deadline:
        found = False
        adjacency = neighbour_order(ctx, assign)
        for seed_rep in active:
            if time.monotonic() >= deadline:
                return assign
            reps = active if size >= active.size else neighbourhood(adjacency, int(seed_rep), size)
            result = solve_neighbourhood(
                ctx, assign, reps, "improve", STEP_DETERMINISTIC_TIME, deadline - time.monotonic()
            )
            log.record(result.status, result.improved)
            if result.improved:
                assign, found = result.assign, True
            if size >= active.size:
                break
        log.sweeps += 1
        progress(f"search: sweep {log.sweeps} done, {log.improving_steps} improving steps so far")
        if not found:
            log.converged = True
            break
    return assign
