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

import numpy as np

from territory.planner.cpsat_model import solve_neighbourhood
from territory.planner.lp import AssignmentLp
from territory.planner.search_context import SearchContext, moved_potential
from territory.planner.sweeps import (
    MAX_FREE_ACCOUNTS,
    STEP_DETERMINISTIC_TIME,
    SearchLog,
    neighbour_order,
    neighbourhood,
    sweep_until_stable,
)

NEIGHBOURHOOD_REPS = 4
STALL_MOVES = 0.0025  # a moves sweep that saves less than this share of the moves ends that search
STALL_GAIN = 0.005  # a travel sweep that saves less than this share of the travel ends that search


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


def greedy_repair(ctx: SearchContext, assign: np.ndarray, deadline: float, max_steps: int = 5000) -> np.ndarray:
    """Single moves, then swaps, that most reduce the band violation, until none helps.

    After LP rounding only a few reps sit a fraction of an account outside their band, so a
    handful of steps usually closes the gap at the cost of a few extra moves, which the
    search then tries to take back. Swaps fix reps that are over on one measure and at the
    edge on the other (exchange a high-potential account for a high-workload one).
    """
    state = _RepairState(ctx, assign)
    for _ in range(max_steps):
        if time.monotonic() >= deadline or state.violation() <= 1e-12:
            break
        if not state.best_single_move() and not state.best_swap():
            break
    return state.assign


class _RepairState:
    """Assignment plus loads, with vectorised move and swap evaluation."""

    def __init__(self, ctx: SearchContext, assign: np.ndarray) -> None:
        self.ctx, self.data, self.cands = ctx, ctx.data, ctx.cands
        self.assign = assign.copy()
        self.load_p, self.load_w = ctx.loads(self.assign)
        self.movable = ~self.data.fixed[self.cands.account]
        self.excess = ctx.excess

    def violation(self) -> float:
        reps = np.arange(self.data.m)
        return float(self.excess(self.load_p, self.load_w, reps).sum())

    def apply(self, account: int, new_rep: int) -> None:
        old = self.assign[account]
        self.assign[account] = new_rep
        for rep, sign in ((old, -1.0), (new_rep, 1.0)):
            self.load_p[rep] += sign * self.data.potential[account]
            self.load_w[rep] += sign * self.data.workload[account]

    def best_single_move(self) -> bool:
        data, cands = self.data, self.cands
        cur = self.assign[cands.account]
        r, c = cands.rep, cur
        p, w = data.potential[cands.account], data.workload[cands.account]
        before = self.excess(self.load_p[c], self.load_w[c], c) + self.excess(self.load_p[r], self.load_w[r], r)
        after = self.excess(self.load_p[c] - p, self.load_w[c] - w, c) + self.excess(self.load_p[r] + p, self.load_w[r] + w, r)
        gain = np.where(self.movable & (r != cur), before - after, -np.inf)
        best = float(gain.max(initial=-np.inf))
        if best <= 1e-12:
            return False
        top = np.flatnonzero(gain >= best - 1e-12)
        new_move = (cur[top] == data.owner[cands.account[top]]).astype(np.int64) - cands.stay[top]
        pick = top[np.lexsort((cands.km[top], new_move))[0]]
        self.apply(int(cands.account[pick]), int(cands.rep[pick]))
        return True

    def best_swap(self) -> bool:
        """Best exchange between the worst rep and one neighbour (both accounts movable)."""
        data, cands = self.data, self.cands
        reps = np.arange(data.m)
        worst = int(np.argmax(np.where(data.active, self.excess(self.load_p, self.load_w, reps), -1)))
        cur = self.assign[cands.account]
        out_arcs = np.flatnonzero(self.movable & (cur == worst) & (cands.rep != worst))
        in_arcs = np.flatnonzero(self.movable & (cands.rep == worst) & (cur != worst))
        best_gain, best_pair = 1e-12, None
        for r in np.unique(cands.rep[out_arcs]):
            a_arcs = out_arcs[cands.rep[out_arcs] == r][:400]
            b_arcs = in_arcs[cur[in_arcs] == r][:400]
            if a_arcs.size == 0 or b_arcs.size == 0:
                continue
            dp = data.potential[cands.account[a_arcs]][:, None] - data.potential[cands.account[b_arcs]][None, :]
            dw = data.workload[cands.account[a_arcs]][:, None] - data.workload[cands.account[b_arcs]][None, :]
            pair = np.array([worst, r])
            before = float(self.excess(self.load_p[pair], self.load_w[pair], pair).sum())
            after = self.excess(self.load_p[worst] - dp, self.load_w[worst] - dw, np.array(worst))
            after = after + self.excess(self.load_p[r] + dp, self.load_w[r] + dw, np.array(r))
            i, j = np.unravel_index(int(np.argmin(after)), after.shape)
            if before - after[i, j] > best_gain:
                best_gain, best_pair = before - after[i, j], (a_arcs[i], b_arcs[j])
        if best_pair is None:
            return False
        a_arc, b_arc = best_pair
        self.apply(int(cands.account[a_arc]), int(cands.rep[a_arc]))
        self.apply(int(cands.account[b_arc]), worst)
        return True


def greedy_polish(ctx: SearchContext, assign: np.ndarray, deadline: float, max_rounds: int = 10_000) -> np.ndarray:
    """Band-keeping single moves that lower (moves, moved potential, travel) lexicographically.

    First every moved account that can go back to its owner without leaving the band does
    (largest potential first: fewer moves, then less moved potential); then moved accounts
    switch to the new owner with the least travel that keeps the band (moves unchanged).
    Each round applies a batch of such moves that touch pairwise different reps, so every
    move is checked against up-to-date loads.
    """
    state = _RepairState(ctx, assign)
    data, cands = state.data, state.cands
    p, w = data.potential[cands.account], data.workload[cands.account]
    travel = w * cands.km
    for _ in range(max_rounds):
        if time.monotonic() >= deadline:
            break
        cur = state.assign[cands.account]
        ok = state.movable & (cur != data.owner[cands.account]) & (cands.rep != cur)
        c, r = cur, cands.rep
        ok &= state.excess(state.load_p[c] - p, state.load_w[c] - w, c) <= 1e-12
        ok &= state.excess(state.load_p[r] + p, state.load_w[r] + w, r) <= 1e-12
        undo = np.flatnonzero(ok & cands.stay)
        if undo.size:
            picks = undo[np.argsort(-p[undo], kind="stable")]
        else:
            gain = np.where(ok & ~cands.stay, w * data.dist[cands.account, cur] - travel, 0.0)
            picks = np.flatnonzero(gain > 1e-9)
            picks = picks[np.argsort(-gain[picks], kind="stable")]
        if picks.size == 0:
            break
        touched: set[int] = set()
        for arc in picks:
            old, new = int(cur[arc]), int(cands.rep[arc])
            if old in touched or new in touched:
                continue
            touched.update((old, new))
            state.apply(int(cands.account[arc]), new)
    return state.assign


def repair(
    ctx: SearchContext, assign: np.ndarray, deadline: float, log: SearchLog, progress: Callable[[str], None]
) -> np.ndarray:
    """Drive the band violation to zero: greedy moves first, then CP-SAT on the worst rep's
    neighbourhood, widening it on stagnation."""
    assign = greedy_repair(ctx, assign, deadline)
    progress(f"repair: greedy left band violation {ctx.violation(assign):.4f}")
    size = NEIGHBOURHOOD_REPS
    active = np.flatnonzero(ctx.data.active)
    while ctx.violation(assign) > 1e-12 and time.monotonic() < deadline:
        worst = _worst_rep(ctx, assign)
        adjacency = neighbour_order(ctx, assign)
        reps = active if size >= active.size else neighbourhood(adjacency, worst, size)
        before = ctx.violation(assign)
        result = solve_neighbourhood(
            ctx, assign, reps, "repair", STEP_DETERMINISTIC_TIME * 2, deadline - time.monotonic(),
            MAX_FREE_ACCOUNTS * size // NEIGHBOURHOOD_REPS,
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
    over = ctx.excess(load_p, load_w, np.arange(ctx.data.m))
    over[~ctx.data.active] = -1
    return int(np.argmax(over))


def improve(
    ctx: SearchContext,
    assign: np.ndarray,
    deadline: float,
    log: SearchLog,
    progress: Callable[[str], None],
    moves_goal: float = 0.0,
) -> np.ndarray:
    """Sweep neighbourhoods rep by rep until the work is done or time runs out: a sweep
    finds nothing, the plan has at most ``moves_goal`` moves (within a small gap of the LP
    bound), or a sweep saves less than ``STALL_MOVES`` of the moves (travel is left to
    :func:`reduce_travel`).

    Two neighbourhoods with disjoint reps are solved side by side (CP-SAT releases the GIL);
    their changes touch disjoint accounts and disjoint band rows, so both apply. Pairing
    follows the fixed rep order, so the sweep is deterministic; so are the stops (they look
    at the plan, not the clock).
    """
    last = [_moves(ctx, assign), travel(ctx, assign)]

    def sweep_done(plan: np.ndarray) -> str | None:
        log.sweeps += 1
        moves, km = _moves(ctx, plan), travel(ctx, plan)
        progress(f"search: sweep {log.sweeps} done, {log.improving_steps} improving steps, {moves} moves, "
                 f"travel {km:,.0f}")
        stalled = moves > (1 - STALL_MOVES) * last[0]  # travel is the travel search's job
        last[:] = [moves, km]
        return "moves_within_gap" if moves <= moves_goal else "stalled" if stalled else None

    assign, log.moves_stop = sweep_until_stable(
        ctx, assign, deadline, log, "improve", NEIGHBOURHOOD_REPS, lambda _plan, _batch: (), sweep_done,
        widen=lambda plan: _moves(ctx, plan) > moves_goal,
    )
    log.converged = log.moves_stop != "time_limit"
    return assign


def reduce_travel(
    ctx: SearchContext,
    assign: np.ndarray,
    deadline: float,
    log: SearchLog,
    progress: Callable[[str], None],
    max_moved_potential: float,
) -> np.ndarray:
    """Moves-neutral travel search: the same neighbourhood sweeps as :func:`improve`, each
    minimising travel with moves never growing and the plan's moved potential kept at most
    ``max_moved_potential`` (its allowance is shared out among the neighbourhoods solved
    side by side, so merging them keeps the cap), until a sweep finds nothing, saves less
    than ``STALL_GAIN`` of the travel, or time runs out."""

    def allowance(plan: np.ndarray, batch: list[np.ndarray]) -> tuple[float, ...]:
        return (max(max_moved_potential - moved_potential(ctx.data, plan), 0.0) / len(batch),)

    last = [travel(ctx, assign)]

    def sweep_done(plan: np.ndarray) -> str | None:
        km = travel(ctx, plan)
        progress(f"travel: sweep done, {_moves(ctx, plan)} moves, travel {km:,.0f}")
        stalled = km > (1 - STALL_GAIN) * last[0]
        last[0] = km
        return "stalled" if stalled else None

    finished_on_time = log.converged
    assign, log.travel_stop = sweep_until_stable(
        ctx, assign, deadline, log, "travel", NEIGHBOURHOOD_REPS, allowance, sweep_done
    )
    log.converged = finished_on_time and log.travel_stop != "time_limit"  # both ended on their own
    return assign


def _moves(ctx: SearchContext, assign: np.ndarray) -> int:
    return int(np.count_nonzero(assign != ctx.data.owner))


def travel(ctx: SearchContext, assign: np.ndarray) -> float:
    """Workload-weighted km of a complete assignment."""
    data = ctx.data
    return float((data.workload * data.dist[np.arange(data.n), assign]).sum())


