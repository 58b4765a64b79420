"""Greedy baseline planner, for comparison in tests and benchmarks (and a safe fallback).

1. Accounts that must move (owner inactive, unknown or missing, or not serving the account's
   industry) go to the nearest eligible active rep that still has capacity.
2. Then, one move at a time, the rep furthest outside the tolerance pushes a boundary account
   to an under-loaded neighbour (or an under-loaded rep pulls one in), choosing the move that
   cuts the imbalance most per km of detour, until every rep is within tolerance or no single
   move helps any more.

Moves are restricted to each account's ``options.reach`` nearest eligible active reps. The
result always assigns every account; it satisfies the hard rules whenever step 1 finds room.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from territory.planner.distance import DistanceModel, build_distance_model, nearest_reps
from territory.planner.instance import Instance, Move, Plan, PlanOptions
from territory.planner.travel import mode_mask
from territory.planner.validate import balance_targets

_CAPACITY_WEIGHT = 100.0  # capacity is hard: any excess outweighs any balance gain
_DETOUR_FLOOR_KM = 10.0  # keeps the score finite for moves that get closer
_TOL_MARGIN = 1e-6  # aim a hair inside the tolerance so float sums do not land outside
_PROGRESS_SECONDS = 3.0
_BATCH = 16  # moves tried per scan of a rep's neighbourhood


@dataclass
class _State:
    """Arrays the greedy loop works on (index-based, positions as in the instance)."""

    potential: NDArray[np.float64]
    workload: NDArray[np.float64]
    assign: NDArray[np.int64]
    movable: NDArray[np.bool_]
    cand: NDArray[np.int64]  # [n, reach] nearest eligible active reps, -1 padded
    cand_km: NDArray[np.float64]
    load_p: NDArray[np.float64]
    load_w: NDArray[np.float64]
    target_p: NDArray[np.float64]
    target_w: NDArray[np.float64]
    capacity: NDArray[np.float64]
    tolerance: float
    eligible: NDArray[np.bool_] = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    distance: DistanceModel | None = None
    owner_km: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))  # km to assigned rep
    pull_index: list[tuple[NDArray[np.int64], NDArray[np.int64]]] = field(default_factory=list)


def eligibility_matrix(instance: Instance) -> NDArray[np.bool_]:
    """``[n_accounts, n_reps]``: True where the rep is active, serves the account's industry
    and may take its visit mode (inside reps: remote accounts only)."""
    industries = sorted({a.industry or "" for a in instance.accounts})
    code = {name: i for i, name in enumerate(industries)}
    per_industry = np.array(
        [[r.active and r.serves(name or None) for r in instance.reps] for name in industries], dtype=bool
    ).reshape(len(industries), len(instance.reps))
    account_code = np.array([code[a.industry or ""] for a in instance.accounts], dtype=np.int64)
    return per_industry[account_code] & mode_mask(instance)


def greedy_plan(
    instance: Instance,
    options: PlanOptions,
    distance: DistanceModel | None = None,
    progress: Callable[[str], None] | None = None,
) -> Plan:
    """Baseline plan: reassign orphans to the nearest eligible rep, then shave imbalance.

    Args:
        instance: The planning instance.
        options: Tolerance and reach are used; time limit and seed are not needed (deterministic).
        distance: Distance model; great-circle km by default.
        progress: Called with a short status line every few seconds on long runs.

    Returns:
        A plan assigning every account, with one move per changed account and greedy metrics.
    """
    started = time.perf_counter()
    if not any(r.active for r in instance.reps):
        return Plan(
            assignment={a.id: a.owner_id or "" for a in instance.accounts},
            moves=[],
            metrics={"solver_status": "BEST_EFFORT", "phase_timings": {}},
            explanations=["No active rep: every account needs an active owner; activate or add reps."],
        )
    model = distance or build_distance_model(instance)
    state, forced = _initial_state(instance, options, model)
    placed = time.perf_counter()
    moves_made = _balance(state, progress=progress)
    finished = time.perf_counter()
    assignment = {a.id: instance.reps[int(state.assign[j])].id for j, a in enumerate(instance.accounts)}
    moves = _moves_with_reasons(instance, state, assignment, forced, model)
    plan = Plan(assignment=assignment, moves=moves)
    plan.metrics = {
        "solver_status": "GREEDY",
        "phase_timings": {"place_orphans": placed - started, "balance": finished - placed},
        "greedy_balance_moves": moves_made,
    }
    return plan


def _initial_state(
    instance: Instance, options: PlanOptions, model: DistanceModel
) -> tuple[_State, NDArray[np.bool_]]:
    n = len(instance.accounts)
    rep_pos = {r.id: i for i, r in enumerate(instance.reps)}
    eligible = eligibility_matrix(instance)
    owner = np.array([rep_pos.get(a.owner_id or "", -1) for a in instance.accounts], dtype=np.int64)
    has_owner = owner >= 0
    owner_ok = np.zeros(n, dtype=bool)
    owner_ok[has_owner] = eligible[np.nonzero(has_owner)[0], owner[has_owner]]
    active = np.array([r.active for r in instance.reps], dtype=bool)
    locked = np.array([a.locked for a in instance.accounts], dtype=bool)
    # a lock binds only while the owner is an active rep; then it stays even if ineligible
    lock_binds = locked & has_owner & active[np.where(has_owner, owner, 0)]
    forced = ~owner_ok & ~lock_binds
    cand, cand_km = nearest_reps(model, np.arange(n), eligible, max(1, options.reach))
    target_p, target_w = balance_targets(instance)
    state = _State(
        potential=np.array([a.potential for a in instance.accounts], dtype=np.float64),
        workload=np.array([a.workload for a in instance.accounts], dtype=np.float64),
        assign=np.where(forced, -1, owner),
        movable=~lock_binds,
        cand=cand,
        cand_km=cand_km,
        load_p=np.zeros(len(instance.reps)),
        load_w=np.zeros(len(instance.reps)),
        target_p=target_p,
        target_w=target_w,
        capacity=np.array([r.capacity for r in instance.reps], dtype=np.float64),
        tolerance=options.tolerance,
        eligible=eligible,
        distance=model,
    )
    kept = state.assign >= 0
    np.add.at(state.load_p, state.assign[kept], state.potential[kept])
    np.add.at(state.load_w, state.assign[kept], state.workload[kept])
    _place_orphans(state, np.nonzero(forced)[0], eligible, model)
    state.owner_km = model.km(np.arange(n), state.assign)
    _index_candidates(state)
    return state, forced


def _index_candidates(state: _State) -> None:
    """Which accounts list each rep as a candidate (and at which column)."""
    cand = state.cand
    rows, cols = np.nonzero(cand >= 0)
    by_rep = np.argsort(cand[rows, cols], kind="stable")
    rows, cols = rows[by_rep], cols[by_rep]
    bounds = np.searchsorted(cand[rows, cols], np.arange(state.load_p.size + 1))
    state.pull_index = [
        (rows[bounds[r] : bounds[r + 1]], cols[bounds[r] : bounds[r + 1]]) for r in range(state.load_p.size)
    ]


def _widen_for_capacity(state: _State) -> bool:
    """Capacity still broken and every rep stuck: let every account reach every eligible rep.

    Single moves inside a small reach cannot run chains (A -> B frees room for C -> A); with
    all eligible reps as candidates they can. Done at most once, and only when capacity binds.
    """
    if state.distance is None or state.cand.shape[1] >= state.load_p.size:
        return False
    if not (state.load_w > state.capacity).any():
        return False
    n = state.assign.size
    state.cand, state.cand_km = nearest_reps(state.distance, np.arange(n), state.eligible, state.load_p.size)
    _index_candidates(state)
    return True


def _place_orphans(
    state: _State, orphans: NDArray[np.int64], eligible: NDArray[np.bool_], model: DistanceModel
) -> None:
    """Biggest workload first, to the nearest eligible rep with room (nearest at all if none)."""
    for j in orphans[np.argsort(-state.workload[orphans], kind="stable")]:
        choices = state.cand[j][state.cand[j] >= 0]
        room = state.load_w[choices] + state.workload[j] <= state.capacity[choices]
        if room.any():
            rep = int(choices[np.argmax(room)])
        else:
            reps = np.nonzero(eligible[j])[0]
            if reps.size == 0:
                # nobody may serve it: keep it with any active rep so the plan stays complete;
                # the validator reports the industry violation
                reps = np.nonzero(state.target_p > 0)[0]
            km = model.km(np.full(reps.size, j), reps)
            fits = state.load_w[reps] + state.workload[j] <= state.capacity[reps]
            rep = int(reps[np.argmin(np.where(fits, km, km + 1e9))])
        state.assign[j] = rep
        state.load_p[rep] += state.potential[j]
        state.load_w[rep] += state.workload[j]


def _penalty(
    state: _State, load_p: NDArray[np.float64], load_w: NDArray[np.float64], reps: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Squared excess beyond the tolerance (both measures) plus heavily weighted over-capacity."""
    tp = np.where(state.target_p[reps] > 0, state.target_p[reps], 1.0)
    tw = np.where(state.target_w[reps] > 0, state.target_w[reps], 1.0)
    tol = state.tolerance - _TOL_MARGIN
    ex_p = np.maximum(np.abs(load_p / tp - 1.0) - tol, 0.0) * (state.target_p[reps] > 0)
    ex_w = np.maximum(np.abs(load_w / tw - 1.0) - tol, 0.0) * (state.target_w[reps] > 0)
    ex_c = np.maximum(load_w - state.capacity[reps], 0.0) / tw
    return ex_p**2 + ex_w**2 + _CAPACITY_WEIGHT * ex_c**2


def _balance(
    state: _State, max_moves: int | None = None, progress: Callable[[str], None] | None = None
) -> int:
    """Apply improving single moves until nothing outside tolerance can be helped."""
    last_report = time.perf_counter()
    all_reps = np.arange(state.load_p.size)
    limit = max_moves if max_moves is not None else 4 * state.assign.size
    stuck: set[int] = set()
    moves = moves_at_reset = 0
    while moves < limit:
        penalty = _penalty(state, state.load_p, state.load_w, all_reps)
        order = [
            int(r) for r in np.argsort(-penalty, kind="stable") if penalty[r] > 0 and int(r) not in stuck
        ]
        if not order:
            if moves == moves_at_reset and not _widen_for_capacity(state):
                break  # a full pass over every stuck rep found nothing: done
            # loads changed since these reps got stuck; give each one more look
            stuck.clear()
            moves_at_reset = moves
            continue
        batch = _best_moves(state, order[0])
        if not batch and state.load_w[order[0]] > state.capacity[order[0]]:
            batch = _best_capacity_move(state, order[0])
        applied = _apply_batch(state, batch)
        if not applied:
            stuck.add(order[0])
            continue
        moves += applied
        # the scanned rep and the reps it traded with changed; other stuck reps wait for the
        # next full pass (re-scanning all of them after every move made 50k runs quadratic)
        stuck.difference_update(int(state.assign[account]) for account, _, _ in batch)
        if progress is not None and time.perf_counter() - last_report > _PROGRESS_SECONDS:
            last_report = time.perf_counter()
            progress(f"greedy: {moves} balancing moves, {len(order)} reps still outside the tolerance")
    return moves


def _apply_batch(state: _State, batch: list[tuple[int, int, float]]) -> int:
    """Apply moves in order while each still improves at the loads left by the ones before.

    Re-checking one move is cheap; re-scoring all candidates after every move is not, so a
    batch of the best few per scan cuts the scans several-fold at 50k accounts.
    """
    applied = 0
    moved: set[int] = set()
    for account, to_rep, km in batch:
        from_rep = int(state.assign[account])
        if account in moved or from_rep == to_rep:
            continue
        pair = np.array([from_rep, to_rep])
        change = np.array([-1.0, 1.0])
        load_p = state.load_p[pair] + change * state.potential[account]
        load_w = state.load_w[pair] + change * state.workload[account]
        gain = (
            _penalty(state, load_p, load_w, pair).sum()
            - _penalty(state, state.load_p[pair], state.load_w[pair], pair).sum()
        )
        if gain >= -1e-12:
            continue
        state.assign[account] = to_rep
        state.load_p[pair], state.load_w[pair] = load_p, load_w
        state.owner_km[account] = km
        moved.add(account)
        applied += 1
    return applied


def _best_moves(state: _State, rep: int) -> list[tuple[int, int, float]]:
    """Best improving moves touching ``rep`` (push one of its accounts or pull one in), best first."""
    push_rows = np.nonzero((state.assign == rep) & state.movable)[0]
    pull_rows, pull_cols = state.pull_index[rep]
    keep = state.movable[pull_rows] & (state.assign[pull_rows] != rep)
    pull_rows, pull_cols = pull_rows[keep], pull_cols[keep]
    rows = np.concatenate([np.repeat(push_rows, state.cand.shape[1]), pull_rows])
    to = np.concatenate([state.cand[push_rows].ravel(), np.full(pull_rows.size, rep)])
    to_km = np.concatenate([state.cand_km[push_rows].ravel(), state.cand_km[pull_rows, pull_cols]])
    ok = (to >= 0) & (to != state.assign[rows])
    rows, to, to_km = rows[ok], to[ok], to_km[ok]
    if rows.size == 0:
        return []
    src = state.assign[rows]
    p, w = state.potential[rows], state.workload[rows]
    delta = (
        _penalty(state, state.load_p[src] - p, state.load_w[src] - w, src)
        - _penalty(state, state.load_p[src], state.load_w[src], src)
        + _penalty(state, state.load_p[to] + p, state.load_w[to] + w, to)
        - _penalty(state, state.load_p[to], state.load_w[to], to)
    )
    improving = np.nonzero(delta < -1e-12)[0]
    if improving.size == 0:
        return []
    detour = np.maximum(to_km[improving] - state.owner_km[rows[improving]], 0.0) + _DETOUR_FLOOR_KM
    score = -delta[improving] / detour
    top = improving[np.argsort(-score, kind="stable")[:_BATCH]]
    return [(int(rows[i]), int(to[i]), float(to_km[i])) for i in top]


def _best_capacity_move(state: _State, rep: int) -> list[tuple[int, int, float]]:
    """Capacity is hard: when nothing in reach helps, any eligible rep may take an account."""
    rows = np.nonzero((state.assign == rep) & state.movable)[0]
    if rows.size == 0 or state.distance is None:
        return []
    pair_rows, to = np.nonzero(state.eligible[rows])
    rows = rows[pair_rows]
    keep = to != rep
    rows, to = rows[keep], to[keep]
    if rows.size == 0:
        return []
    p, w = state.potential[rows], state.workload[rows]
    src = np.full(rows.size, rep)
    delta = (
        _penalty(state, state.load_p[src] - p, state.load_w[src] - w, src)
        - _penalty(state, state.load_p[src], state.load_w[src], src)
        + _penalty(state, state.load_p[to] + p, state.load_w[to] + w, to)
        - _penalty(state, state.load_p[to], state.load_w[to], to)
    )
    if not (delta < -1e-12).any():
        return []
    km = state.distance.km(rows, to)
    score = np.where(delta < -1e-12, -delta / (km + _DETOUR_FLOOR_KM), -np.inf)
    best = int(np.argmax(score))
    return [(int(rows[best]), int(to[best]), float(km[best]))]


def _moves_with_reasons(
    instance: Instance,
    state: _State,
    assignment: dict[str, str],
    forced: NDArray[np.bool_],
    model: DistanceModel,
) -> list[Move]:
    rep_pos = {r.id: i for i, r in enumerate(instance.reps)}
    before_p = np.zeros(len(instance.reps))
    for account in instance.accounts:
        if account.owner_id in rep_pos:
            before_p[rep_pos[account.owner_id]] += account.potential
    safe_target = np.where(state.target_p > 0, state.target_p, 1.0)
    moves = []
    for j, account in enumerate(instance.accounts):
        new = assignment[account.id]
        if new == account.owner_id:
            continue
        to_pos = rep_pos[new]
        to_km = float(model.km(j, to_pos))
        to_name = instance.reps[to_pos].label
        old = instance.reps[rep_pos[account.owner_id]] if account.owner_id in rep_pos else None
        if old is None:
            reason = (
                f"Owner {account.owner_id or '(none)'} is not a known rep; "
                f"{to_name} is the nearest eligible rep ({to_km:.0f} km)."
            )
        elif not old.active:
            reason = f"{old.label} is inactive; {to_name} is the nearest eligible rep with room ({to_km:.0f} km)."
        elif forced[j]:
            reason = f"{old.label} does not serve {account.industry}; {to_name} does ({to_km:.0f} km away)."
        else:
            over = before_p[rep_pos[old.id]] / safe_target[rep_pos[old.id]] - 1.0
            diff = float(model.km(j, rep_pos[old.id])) - to_km
            where = f"{abs(diff):.0f} km {'closer' if diff >= 0 else 'farther'}"
            reason = (
                f"{old.label} is {over:+.0%} against the potential target; "
                f"{to_name} is {where} and has room under target."
            )
        moves.append(
            Move(account_id=account.id, from_owner_id=account.owner_id, to_owner_id=new, reason=reason)
        )
    return moves
