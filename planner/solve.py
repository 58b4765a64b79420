"""The planner's solving core: an instance in, a complete plan with metrics and reasons out.

Phases (each timed in ``metrics["phase_seconds"]``, ``phase_timings`` in metrics.json), within ``options.time_limit`` overall:

1. *prepare*: arrays, hard-rule precedence, sparse candidates (``planner.candidates``);
2. *lp*: the balance band (widened reach only where needed, ``planner.band``), the moves
   lower bound, and a warm start: the LP vertex with fewest moves, then least travel
   (``planner.lp``; at 50,000 accounts bundled, then refined to single accounts by column
   generation, so the vertex has only a few hundred fractional accounts);
3. *repair*: round the LP vertex (computed in a slightly shrunk band so rounding lands
   inside the true one) to a complete assignment, close any band gap with greedy moves and
   swaps, then CP-SAT neighbourhoods; then undo every move the band does not need;
4. *search*: one global CP-SAT solve with the complete plan as hint when the model is small,
   otherwise large-neighbourhood search (``planner.lns``), its last part moves-neutral
   travel search (moved potential at most 2% above the plan's); each part stops as soon as
   its work is done (moves within ``MOVES_GAP`` of the LP bound, or a sweep stops
   improving), ``stop_reason`` says why;
5. *bound*: LP travel bound at the plan's own number of moves;
6. *report*: moves with reasons, metrics, explanations (``planner.explain``).

The solver never raises for an infeasible instance: when the tolerance cannot be met the
plan keeps every rep within the LP's best reachable band (plus a small margin for whole
accounts, ``planner.band``), status ``BEST_EFFORT`` and explanations naming what binds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from territory.planner.band import BEST_EFFORT_MARGIN, Band, find_band
from territory.planner.candidates import Candidates
from territory.planner.cpsat_model import solve_neighbourhood
from territory.planner.explain import binding_explanations, move_reasons, precedence_notes
from territory.planner.instance import Instance, Move, Plan, PlanOptions
from territory.planner.lns import (
    SearchLog,
    greedy_polish,
    improve,
    reduce_travel,
    repair,
    round_lp,
    travel,
)
from territory.planner.lp import AssignmentLp, LpSolution
from territory.planner.problem import ProblemData, build_problem_data
from territory.planner.search_context import SearchContext, build_search_context, moved_potential

GLOBAL_MODEL_ARCS = 20_000  # up to this many candidate arcs one CP-SAT model takes everything
GLOBAL_DETERMINISTIC_TIME = 20.0
LP_SHARE = 0.7  # at most this share of the budget for the band LP (it takes what it needs; without it nothing works)
MOVED_POTENTIAL_SLACK = 0.02  # the travel search may use 2% more moved potential than its start
BOUND_SHARE = 0.06  # at most this share of the budget for the travel bound (a metric)
TRAVEL_SHARE = 0.4  # of the search time (LNS only): moves-neutral travel search at the end
MOVES_GAP = 0.005  # the moves search is done within this share of the LP bound
ROUNDING_MARGINS = (0.1, 0.3)  # share of the tolerance the warm start keeps free for rounding


def solve(instance: Instance, options: PlanOptions, progress: Callable[[str], None] | None = None) -> Plan:
    """Plan new owners for every account (see module docstring).

    Args:
        instance: Accounts and reps.
        options: Tolerance, reach, time limit (seconds, whole run), seed, workers (0 = cores).
        progress: Called with a short line at each phase and during long searches.

    Returns:
        The plan: full assignment, moves with reasons, metrics and explanations.
    """
    say = progress or (lambda _line: None)
    clock = _Clock(options.time_limit)
    if not instance.accounts or not any(r.active for r in instance.reps):
        return _degenerate_plan(instance)
    data = build_problem_data(instance)
    clock.lap("prepare")
    say(f"prepare: {data.n} accounts, {int(data.active.sum())} active reps")
    band, lp, start = find_band(data, options, time_limit=clock.remaining() * LP_SHARE)
    lp_started = time.monotonic()
    warm = _travel_warm_start(lp, band, start, clock, ROUNDING_MARGINS[0])
    # time kept back for the travel bound at the plan's own moves (one more LP solve)
    bound_reserve = min(max(1.0, time.monotonic() - lp_started), BOUND_SHARE * options.time_limit)
    clock.lap("lp")
    widest = band.max_delta if band.extra is not None else (band.delta_p, band.delta_w)
    say(f"lp: band up to ±{widest[0]:.1%}/±{widest[1]:.1%}, moves bound {_bound(start):.0f}")
    ctx = build_search_context(data, lp, band, options)
    log = SearchLog()
    assign = _repair_phase(ctx, lp, band, start, warm, log, clock, say)
    clock.lap("repair")
    moves_bound = _bound(start)
    moves_goal = math.floor(math.ceil(moves_bound - 1e-6) * (1 + MOVES_GAP)) if math.isfinite(moves_bound) else 0
    assign, optimal = _search_phase(ctx, assign, options, clock.deadline - bound_reserve, log, say, moves_goal)
    clock.lap("search")
    travel_bound = _travel_bound(lp, band, start, int(np.count_nonzero(assign != data.owner)), clock)
    clock.lap("bound")
    plan = _build_plan(data, lp, band, start, assign, options, log, optimal)
    plan.metrics["stop_reason"] = _stop_reason(log, optimal, ctx.violation(assign) <= 1e-12)
    if not start.solved or (ctx.violation(assign) > 1e-12 and band.reachable):
        _say_time_ran_out(plan, options, "the LP did not finish" if not start.solved else "repair unfinished")
    travel = float(plan.metrics["travel"])  # type: ignore[arg-type]
    plan.metrics["lp_travel_bound_at_plan_moves"] = round(travel_bound, 3) if travel_bound else None
    plan.metrics["travel_gap"] = round(travel / travel_bound - 1, 6) if travel_bound else None
    clock.lap("report")
    plan.metrics["phase_seconds"] = clock.laps
    plan.metrics["seconds"] = round(sum(clock.laps.values()), 3)
    say(f"done: {plan.metrics['status']}, {plan.metrics['moves']} moves in {plan.metrics['seconds']:.1f}s")
    return plan


def _repair_phase(
    ctx: SearchContext,
    lp: AssignmentLp,
    band: Band,
    start: LpSolution,
    warm: LpSolution,
    log: SearchLog,
    clock: _Clock,
    say: Callable[[str], None],
) -> np.ndarray:
    """Round and repair the warm start (a more central vertex when that misses the band),
    then undo the moves the band does not need."""
    assign = _round_and_repair(ctx, lp, warm, log, clock, say, share=0.2)
    if ctx.violation(assign) > 1e-12 and band.holds and start.ok:
        # rounding fell outside and repair could not close it: round a more central vertex
        warm = _travel_warm_start(lp, band, start, clock, ROUNDING_MARGINS[1])
        retry = _round_and_repair(ctx, lp, warm, log, clock, say, share=0.5)
        if ctx.violation(retry) < ctx.violation(assign):
            assign = retry
    if ctx.violation(assign) <= 1e-12:
        assign = greedy_polish(ctx, assign, clock.deadline)
        say(f"repair: polished to {int(np.count_nonzero(assign != ctx.data.owner))} moves")
    return assign


def _search_phase(
    ctx: SearchContext,
    assign: np.ndarray,
    options: PlanOptions,
    deadline: float,
    log: SearchLog,
    say: Callable[[str], None],
    moves_goal: float,
) -> tuple[np.ndarray, bool]:
    """One global CP-SAT model when it is small, else LNS (its moves search ending at
    ``moves_goal``); returns the plan and optimality."""
    if ctx.cands.size > GLOBAL_MODEL_ARCS:
        return _search(ctx, assign, deadline, log, say, moves_goal), False
    active = np.flatnonzero(ctx.data.active)
    # from the options, not the clock: the same instance and options give the same plan
    dtime = min(GLOBAL_DETERMINISTIC_TIME, 0.4 * options.time_limit)
    result = solve_neighbourhood(ctx, assign, active, "improve", dtime, max(deadline - time.monotonic(), 0.05))
    log.record(result.status, result.improved)
    log.moves_stop = "optimal" if result.status == "OPTIMAL" else "work_limit"
    return result.assign, result.status == "OPTIMAL"


def _say_time_ran_out(plan: Plan, options: PlanOptions, what: str) -> None:
    """Out of time, not out of options: say so before any tolerance advice."""
    plan.explanations.insert(
        0,
        f"The solver's {options.time_limit:.1f} s ran out before the plan reached the band and every "
        f"capacity ({what}): raise the time limit (20 s is enough for 50,000 accounts x 100 reps on 2 cores).",
    )
    plan.metrics["timed_out"] = True
    plan.explanations = [e for e in plan.explanations if not e.startswith("The best plan found misses")]


class _Clock:
    def __init__(self, budget: float) -> None:
        self.start = self.last = time.monotonic()
        # a little headroom for building the plan object after the last phase
        self.deadline = self.start + max(float(budget) - 0.3, 0.7)
        self.laps: dict[str, float] = {}

    def remaining(self) -> float:
        return max(self.deadline - time.monotonic(), 0.05)

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps[name] = round(now - self.last, 3)
        self.last = now


def _search(
    ctx: SearchContext,
    assign: np.ndarray,
    deadline: float,
    log: SearchLog,
    say: Callable[[str], None],
    moves_goal: float,
) -> np.ndarray:
    """LNS on (moves, moved potential, travel) until moves are within ``MOVES_GAP`` of the
    LP bound or stop improving, then moves-neutral travel search for the rest of the time
    (``TRAVEL_SHARE`` at least) until it stops improving, within the moved-potential slack."""
    say(f"repair: travel {travel(ctx, assign):,.0f}")
    moves_deadline = time.monotonic() + (1 - TRAVEL_SHARE) * max(deadline - time.monotonic(), 0.0)
    assign = improve(ctx, assign, moves_deadline, log, say, moves_goal)
    if ctx.violation(assign) > 1e-12:
        return assign  # outside the band the search has nothing to hold on to
    cap = moved_potential(ctx.data, assign) * (1 + MOVED_POTENTIAL_SLACK)
    return reduce_travel(ctx, assign, deadline, log, say, cap)


def _bound(sol: LpSolution) -> float:
    return sol.bound if sol.ok else math.nan


def _travel_warm_start(lp: AssignmentLp, band: Band, start: LpSolution, clock: _Clock, margin: float) -> LpSolution:
    """LP vertex with fewest moves, then least travel, in a band shrunk by ``margin`` of the
    tolerance: the rounded plan then lands inside the true band without long repair chains
    (when every rep sits at its band edge, one account too many can only be passed on
    through a chain of reps). Near misses still make a good warm start."""
    if not start.ok:
        return start
    shrink = margin * min(band.delta_p, band.delta_w)
    if band.best_deviation is not None:  # best effort: never below the LP's best bands
        shrink = min(shrink, BEST_EFFORT_MARGIN)
    warm = lp.min_moves(band.delta_p - shrink, band.delta_w - shrink, band.overflow, clock.remaining() * 0.25,
                        short_trips=True)
    return warm if warm.solved else start


def _round_and_repair(
    ctx: SearchContext,
    lp: AssignmentLp,
    warm: LpSolution,
    log: SearchLog,
    clock: _Clock,
    say: Callable[[str], None],
    share: float,
) -> np.ndarray:
    """Round the warm start and repair it, within ``share`` of the remaining time."""
    assign = round_lp(lp, warm.x) if warm.solved else _fallback_assignment(ctx.data, ctx.cands)
    return repair(ctx, assign, time.monotonic() + share * clock.remaining(), log, say)


def _travel_bound(lp: AssignmentLp, band: Band, start: LpSolution, moves: int, clock: _Clock) -> float | None:
    """LP travel bound at the plan's own number of moves, in the true band (the warm start
    used a shrunk one); None when the LP had no answer or the bound is not positive."""
    if not start.ok:
        return None
    lp.set_band(band.delta_p, band.delta_w, band.overflow)
    result = lp.min_travel(moves + 1e-6, math.inf, clock.remaining())
    return result.bound if result.ok and result.bound > 0 else None


def _fallback_assignment(data: ProblemData, cands: Candidates) -> np.ndarray:
    """No LP answer in time: keep owners where allowed, else the nearest candidate rep."""
    assign = np.full(data.n, -1, dtype=np.int64)
    assign[cands.account[cands.stay]] = cands.rep[cands.stay]
    todo = np.flatnonzero(assign < 0)
    km = np.where(cands.mask[todo], data.dist[todo], np.inf)
    assign[todo] = np.argmin(km, axis=1)
    return assign


def _max_deviations(data: ProblemData, assign: np.ndarray) -> tuple[float, float, float, float]:
    """Max |deviation| and coefficient of variation of potential and workload (active reps)."""
    valid = assign >= 0
    out = []
    for values, target in ((data.potential, data.target_p), (data.workload, data.target_w)):
        load = np.bincount(assign[valid], values[valid], minlength=data.m)[data.active]
        t = np.maximum(target[data.active], 1e-12)
        out.append((float(np.abs(load / t - 1).max(initial=0.0)), float(np.std(load / t))))
    return out[0][0], out[1][0], out[0][1], out[1][1]


def _build_plan(
    data: ProblemData,
    lp: AssignmentLp,
    band: Band,
    start: LpSolution,
    assign: np.ndarray,
    options: PlanOptions,
    log: SearchLog,
    optimal: bool,
) -> Plan:
    reps, accounts = data.instance.reps, data.instance.accounts
    reasons = move_reasons(data, assign, options.tolerance)
    moved = np.flatnonzero(assign != data.owner)
    moves = [
        Move(accounts[a].id, accounts[a].owner_id, reps[assign[a]].id, reasons[int(a)]) for a in moved
    ]
    dev_p, dev_w, cv_p, cv_w = _max_deviations(data, assign)
    before = _max_deviations(data, data.owner)
    load_w = np.bincount(assign, data.workload, minlength=data.m)
    over_capacity = bool(np.any(load_w > data.capacity * (1 + 1e-9) + 1e-9))
    tol_met = max(dev_p, dev_w) <= options.tolerance + 1e-9 and not data.orphaned.any() and not over_capacity
    status = ("OPTIMAL" if optimal else "FEASIBLE") if tol_met else "BEST_EFFORT"
    travel = float((data.workload * data.dist[np.arange(data.n), assign]).sum())
    owned = data.owner >= 0
    travel_before = float((data.workload[owned] * data.dist[np.flatnonzero(owned), data.owner[owned]]).sum())
    bound = math.ceil(start.bound - 1e-6) if start.ok and math.isfinite(start.bound) else None
    widened = _widened_count(data, band.cands, assign)
    explanations = precedence_notes(data)
    if not tol_met:
        others = band.delta_p if band.best_deviation is not None else None
        explanations += binding_explanations(data, options.tolerance, (dev_p, dev_w), band.best_deviation,
                                             band.binding, others)
    if widened:
        explanations.append(
            f"{widened} accounts go beyond their {options.reach} nearest eligible reps: balance was out of reach "
            "for the reps around them within the default reach."
        )
    metrics: dict[str, object] = {
        "status": status,
        "tolerance": options.tolerance,
        "max_deviation_potential": round(dev_p, 6),
        "max_deviation_workload": round(dev_w, 6),
        "max_deviation_potential_before": round(before[0], 6),
        "max_deviation_workload_before": round(before[1], 6),
        "cv_potential": round(cv_p, 6),
        "cv_workload": round(cv_w, 6),
        "cv_potential_before": round(before[2], 6),
        "cv_workload_before": round(before[3], 6),
        "moves": int(moved.size),
        "moved_potential_share": round(float(data.potential[moved].sum() / max(data.potential.sum(), 1e-12)), 6),
        "travel": round(travel, 3),
        "travel_before": round(travel_before, 3),
        "lp_lower_bound_moves": bound,
        "moves_gap": round(moved.size / bound - 1, 6) if bound else None,
        "lp_band_potential": band.max_delta[0] if band.extra is not None else band.delta_p,
        "lp_band_workload": band.max_delta[1] if band.extra is not None else band.delta_w,
        "tolerance_reachable_lp": band.reachable,
        "best_reachable_deviation_lp": None if band.best_deviation is None else round(band.best_deviation, 6),
        "binding_reps": _binding_rep_ids(data, band),
        "widened_accounts": widened,
        "widening_rounds": band.widened_rounds,
        "reach": options.reach,
        "lp_units": lp.units.size,
        "search_steps": log.steps,
        "search_improving_steps": log.improving_steps,
        "search_converged": log.converged or optimal,
        "search_stops": {"moves": log.moves_stop, "travel": log.travel_stop},
        "cpsat_statuses": dict(log.statuses),
    }
    return Plan(
        assignment={accounts[a].id: reps[assign[a]].id for a in range(data.n)},
        moves=moves,
        metrics=metrics,
        explanations=explanations,
    )


def _stop_reason(log: SearchLog, optimal: bool, in_band: bool) -> str:
    """Why the search stopped (docs/planner.md, "Reading metrics.json")."""
    stops = (log.moves_stop, log.travel_stop)
    if not in_band:
        return "band_unmet"
    if optimal or log.moves_stop == "work_limit":
        return "optimal" if optimal else "work_limit"
    if "time_limit" in stops:
        return "time_limit"
    if log.moves_stop == "moves_within_gap":
        return "within_gap"
    return "stalled" if "stalled" in stops else "converged"


def _binding_rep_ids(data: ProblemData, band: Band) -> dict[str, list[str]]:
    """Rep ids whose rows hold the LP's best worst deviation, per row kind (best effort)."""
    reps = data.instance.reps
    return {kind: [reps[int(r)].id for r in rows] for kind, rows in (band.binding or {}).items()}


def _widened_count(data: ProblemData, cands: Candidates, assign: np.ndarray) -> int:
    """Accounts whose new owner lies beyond their base reach (a widened arc)."""
    key = cands.account * data.m + cands.rep
    chosen = np.arange(data.n) * data.m + assign
    arc_of = np.minimum(np.searchsorted(key, chosen), max(cands.size - 1, 0))
    return int(np.count_nonzero(cands.widened[arc_of] & (key[arc_of] == chosen)))


def _degenerate_plan(instance: Instance) -> Plan:
    """No accounts, or no active rep at all: nothing can be planned; say so."""
    explanations = []
    if instance.accounts:
        explanations.append("No active rep: every account needs an active owner; activate or add reps.")
    return Plan(
        assignment={a.id: a.owner_id or "" for a in instance.accounts},
        moves=[],
        metrics={"status": "BEST_EFFORT" if instance.accounts else "OPTIMAL", "moves": 0},
        explanations=explanations,
    )
