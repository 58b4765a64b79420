"""Neighbourhood sweeps: every rep's neighbourhood re-solved with CP-SAT, side by side.

A *neighbourhood* is one rep plus the reps it trades accounts with most (counted over the
candidate arcs of their current accounts: the reps on the other side of its territory's
boundary). :func:`sweep_until_stable` solves them in a fixed rep order, two disjoint ones at
a time, until a sweep finds nothing, the caller says the work is done, or the deadline
comes; neighbourhoods proven optimal whose reps kept their accounts are skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from territory.planner.cpsat_model import solve_neighbourhood
from territory.planner.search_context import SearchContext

MAX_FREE_ACCOUNTS = 250  # per neighbourhood: 400 found ~0.5% less travel at 10k in twice the time
MAX_NEIGHBOURHOOD_REPS = 16
MAX_PARALLEL_NEIGHBOURHOODS = 4  # side by side, one CP-SAT worker each (options.num_workers)
STEP_DETERMINISTIC_TIME = 0.5


@dataclass
class SearchLog:
    """What the integer phases did (for metrics and progress lines)."""

    steps: int = 0
    improving_steps: int = 0
    sweeps: int = 0
    converged: bool = False
    moves_stop: str = ""  # why the moves search stopped (see planner.solve: stop_reason)
    travel_stop: str = ""  # why the travel search stopped
    statuses: dict[str, int] = field(default_factory=dict)

    def record(self, status: str, improved: bool) -> None:
        self.steps += 1
        self.improving_steps += int(improved)
        self.statuses[status] = self.statuses.get(status, 0) + 1


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


def sweep_until_stable(
    ctx: SearchContext,
    assign: np.ndarray,
    deadline: float,
    log: SearchLog,
    mode: str,
    size: int,
    extra_args: Callable[[np.ndarray, list[np.ndarray]], tuple[float, ...]],
    sweep_done: Callable[[np.ndarray], str | None],
    widen: Callable[[np.ndarray], bool] = lambda _plan: False,
) -> tuple[np.ndarray, str]:
    """Sweep every rep's neighbourhood in ``mode`` until a sweep finds nothing
    (``"converged"``), ``sweep_done`` names a reason to stop after an improving sweep, or the
    deadline comes (``"time_limit"``). A sweep that finds nothing doubles the neighbourhood
    size instead, up to ``MAX_NEIGHBOURHOOD_REPS``, while ``widen`` says the plan still
    needs it (larger sweeps cost many times more; still deterministic)."""
    active = np.flatnonzero(ctx.data.active)
    max_free = MAX_FREE_ACCOUNTS
    parallel = max(1, min(ctx.workers, MAX_PARALLEL_NEIGHBOURHOODS))
    memo = SolvedMemo(ctx.data.m)
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        while time.monotonic() < deadline:
            found = False
            for batch in disjoint_batches(neighbour_order(ctx, assign), active, size, parallel):
                if time.monotonic() >= deadline:
                    return assign, "time_limit"
                extra = extra_args(assign, batch)
                batch = [hood for hood in batch if not memo.known(hood, max_free, extra)]
                if not batch:
                    continue
                assign, improved = solve_batch(pool, ctx, assign, batch, log, mode, deadline, max_free, memo, *extra)
                found = found or improved
            reason = sweep_done(assign)
            if not found:
                if size >= min(active.size, MAX_NEIGHBOURHOOD_REPS) or not widen(assign):
                    return assign, "converged"
                size, max_free = 2 * size, 2 * max_free
            elif reason:
                return assign, reason
    return assign, "time_limit"


def solve_batch(
    pool: ThreadPoolExecutor,
    ctx: SearchContext,
    assign: np.ndarray,
    batch: list[np.ndarray],
    log: SearchLog,
    mode: str,
    deadline: float,
    max_free: int,
    memo: SolvedMemo,
    *extra: float,
) -> tuple[np.ndarray, bool]:
    """Solve disjoint neighbourhoods side by side and merge their changes (they touch
    disjoint accounts and band rows). Returns the merged plan and whether any improved."""
    jobs = [
        pool.submit(solve_neighbourhood, ctx, assign, reps, mode, STEP_DETERMINISTIC_TIME,
                    deadline - time.monotonic(), max_free, *extra)
        for reps in batch
    ]
    merged, found = assign.copy(), False
    for reps, job in zip(batch, jobs):
        result = job.result()
        log.record(result.status, result.improved)
        if result.improved:
            changed = result.assign != assign
            merged[changed] = result.assign[changed]
            memo.touch(assign[changed], result.assign[changed])
            found = True
        elif result.status in ("OPTIMAL", "EMPTY"):
            memo.remember(reps, max_free, extra)
    return merged, found


class SolvedMemo:
    """Neighbourhoods proven to have nothing better, and the reps changed since.

    A neighbourhood's model depends only on the accounts of its reps (the rest enter as
    nothing) and, in travel mode, on its moved-potential allowance; re-solving one proven
    optimal whose reps kept their accounts, with no larger allowance, cannot find anything,
    so the sweep skips it. Deterministic: it depends only on the plan's history.
    """

    def __init__(self, m: int) -> None:
        self.version = np.zeros(m, dtype=np.int64)
        self.solved: dict[tuple[int, ...], tuple[int, tuple[int, ...], tuple[float, ...]]] = {}

    def known(self, reps: np.ndarray, max_free: int, extra: tuple[float, ...]) -> bool:
        entry = self.solved.get(tuple(int(r) for r in reps))
        if entry is None or entry[0] != max_free or entry[1] != tuple(int(v) for v in self.version[reps]):
            return False
        return all(now <= then + 1e-9 for now, then in zip(extra, entry[2]))

    def remember(self, reps: np.ndarray, max_free: int, extra: tuple[float, ...]) -> None:
        self.solved[tuple(int(r) for r in reps)] = (max_free, tuple(int(v) for v in self.version[reps]), extra)

    def touch(self, old_reps: np.ndarray, new_reps: np.ndarray) -> None:
        self.version[np.unique(np.concatenate([old_reps, new_reps]))] += 1


def disjoint_batches(adjacency: np.ndarray, active: np.ndarray, size: int, parallel: int) -> list[list[np.ndarray]]:
    """Neighbourhoods of every active rep, in rep order, grouped in batches of disjoint ones."""
    batches: list[list[np.ndarray]] = []
    for seed_rep in active:
        hood = active if size >= active.size else neighbourhood(adjacency, int(seed_rep), size)
        last = batches[-1] if batches else None
        if last is not None and len(last) < parallel and not any(
            np.intersect1d(hood, other).size for other in last
        ):
            last.append(hood)
        else:
            batches.append([hood])
        if size >= active.size:
            break
    return batches
