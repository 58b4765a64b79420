"""The balance band the integer phases work in, and the candidate arcs behind it.

:func:`find_band` starts from the base reach and widens it only for the accounts that need
it; when even that cannot reach the tolerance, each binding rep's band widens by exactly the
excess the least-violation LP gives it (best effort). Above ``MAX_LP_UNITS`` accounts these
LPs are bundled; the answer is then refined to single accounts by column generation
(``planner.lp``), starting from the arcs the bundled answer uses. :func:`travel_lower_bound`
is the benchmark's travel bound at a plan's own number of moves.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from territory.planner.candidates import (
    Candidates,
    base_mask,
    build_candidates,
    candidate_subset,
    widen_candidates,
)
from territory.planner.explain import structural_limits
from territory.planner.instance import Instance, PlanOptions
from territory.planner.lp import _INF, OVERFLOW_COST, AssignmentLp, LpSolution
from territory.planner.problem import ProblemData, build_problem_data

BEST_EFFORT_MARGIN = 0.003  # band above the LP's best worst deviation, room for whole accounts


def travel_lower_bound(instance: Instance, options: PlanOptions, max_moves: int, exact: bool = False) -> float:
    """LP lower bound on travel (workload x drive minutes x travel weight, as
    ``metrics.travel_minutes``) for plans with at most ``max_moves`` moves.

    Same reach and balance band as :func:`planner.solve.solve` uses (including widened
    arcs and a best-effort band when the tolerance is out of reach).

    Args:
        instance: The planning instance.
        options: Planner options (tolerance, reach).
        max_moves: The moves budget, typically the plan's own number of moves.
        exact: Solve the per-account LP over every arc at once (slow at 50,000 accounts)
            instead of pricing arcs in until the Lagrangian bound meets the LP value.

    Returns:
        The bound in workload x minutes, or ``math.inf`` when no plan has that few moves.
    """
    data = build_problem_data(instance)
    _, lp, _ = find_band(data, options, time_limit=600.0, exact=exact)
    lp.price_rounds = 1_000  # until the bound meets the LP value: no time limit here
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
    best_deviation: float | None = None  # LP: smallest worst deviation at this reach (out of reach)
    binding: dict[str, np.ndarray] | None = None  # reps whose rows hold that LP bound, per row kind

    @property
    def holds(self) -> bool:
        """The LP keeps this band without elastic slack (tolerance reachable, or the best
        effort band above the LP's best worst deviation)."""
        return self.reachable or self.best_deviation is not None


def find_band(
    data: ProblemData, options: PlanOptions, time_limit: float, exact: bool = False
) -> tuple[Band, AssignmentLp, LpSolution]:
    """Candidates and band: the base reach, widened only for the accounts that need it.

    1. min moves at the tolerance over the base reach: done when feasible (the usual case;
       a bundled LP that misses the band is first refined to single accounts, which may hold it);
    2. else the elastic solution names the reps that cannot reach their band; the accounts
       of over-full reps gain arcs to their nearest reps with room, and accounts near
       under-full reps gain arcs to them (reach doubled per round), while that helps
       (skipped where specialists, locks or capacities bind: reach cannot help there);
    3. if still short (single accounts too), best effort (:func:`_best_effort_band`): the reps that bind get the
       LP's smallest worst deviation, the others the best band left for them.

    Every LP call shares one deadline (``time_limit`` from now). With ``exact`` the LP has
    one account per unit at every size (slow at 50,000 accounts: for offline bounds).

    Returns:
        The band, the LP (single accounts, see :func:`refine_bundled`) and its min-moves
        solution.
    """
    deadline = time.monotonic() + time_limit
    left = lambda: max(deadline - time.monotonic(), 0.05)  # noqa: E731
    tol = options.tolerance
    base = base_mask(data, options.reach)
    mask = base
    lp = AssignmentLp(data, build_candidates(data, mask, base), tol, exact)
    zero = np.zeros(lp.reps.size)
    lp, best = _unbundled_if_it_holds(lp, lp.min_moves(tol, tol, zero, left()), left())
    if best.ok:
        return Band(lp.cands, tol, tol, zero, 0, True), *refine_bundled(lp, best, left())
    rounds, k = 0, options.reach
    # more reach cannot help where specialists, locks or capacities bind: straight to best effort
    structural = bool(structural_limits(data, tol))
    while not structural and best.solved and _badness(best) > 1e-9 and k < data.m and time.monotonic() < deadline:
        k = min(2 * k, data.m)
        short, long = _binding_reps(lp, best)
        wider = widen_candidates(data, mask, short, long, k)
        trial = AssignmentLp(data, build_candidates(data, wider, base), tol, exact)
        sol = trial.min_moves(tol, tol, zero, left())
        if not (sol.solved and _badness(sol) < _badness(best) - 1e-6):
            break
        mask, lp, best, rounds = wider, trial, sol, rounds + 1
    if rounds:  # the base reach's bundled answer was refined above already
        lp, best = _unbundled_if_it_holds(lp, best, left())
    if best.ok:
        return Band(lp.cands, tol, tol, zero, rounds, True), *refine_bundled(lp, best, left())
    return _best_effort_band(lp, rounds, deadline)


def _unbundled_if_it_holds(lp: AssignmentLp, sol: LpSolution, time_limit: float) -> tuple[AssignmentLp, LpSolution]:
    """A bundled LP may miss the band only because its accounts move in bundles: before
    widening or giving up, the single-account LP refined from its answer decides (returned
    when it holds the band; else ``lp`` and ``sol`` as they are)."""
    if sol.ok:
        return lp, sol
    single, refined = refine_bundled(lp, sol, time_limit)
    return (single, refined) if refined.ok else (lp, sol)


def _best_effort_band(lp: AssignmentLp, rounds: int, deadline: float) -> tuple[Band, AssignmentLp, LpSolution]:
    """Out of reach: the reps that bind get the smallest common band the LP can keep
    (``best_deviation``), every other rep the smallest band the LP can keep for them with the
    binding ones pinned there (never wider, at least the tolerance), both plus
    ``BEST_EFFORT_MARGIN`` for whole accounts; moves are then minimised inside. When capacity
    alone cannot hold the workload, each rep's band widens by exactly the excess the
    least-violation LP gives it, capacity overflow at its minimum."""
    left = lambda: max(deadline - time.monotonic(), 0.05)  # noqa: E731
    tol, k = lp.tolerance, lp.reps.size
    minmax = lp.min_max_deviation(left())
    if minmax.ok:
        best, binding = minmax.bound, _binding_rows(lp, minmax)
        pinned = np.flatnonzero(np.isin(lp.reps, np.concatenate(list(binding.values()))))
        # the reps that do not bind get the best band the pinned ones leave them
        rest = lp.min_max_deviation(left(), pinned, best)
        others = min(rest.bound, best) if rest.ok else best
        delta = max(tol, others + BEST_EFFORT_MARGIN)
        extra = np.zeros((k, 4))
        extra[pinned] = np.maximum(best + BEST_EFFORT_MARGIN - delta, 0.0) * lp.row_targets()[pinned]
        lp.set_extra(extra)
        moves = lp.min_moves(delta, delta, np.zeros(k), left())
        if not moves.ok:  # out of time: the last min-max answer keeps these bands already
            moves = rest if rest.ok else minmax
            moves.bound = -math.inf
        widest = (best + BEST_EFFORT_MARGIN, best + BEST_EFFORT_MARGIN)
        band = Band(lp.cands, delta, delta, np.zeros(k), rounds, False, widest, extra, best, binding)
        return band, *refine_bundled(lp, moves, left())
    least = lp.min_violation(left())  # warm; weighs capacity overflow far above balance
    overflow = least.overflow * (1 + 1e-6) + 1e-9 * (least.overflow > 0) if least.solved else np.full(k, _INF)
    # every rep only as far beyond the tolerance as the least total excess forces it: the
    # binding reps (a lone specialist, a rep full of locked accounts) take it, the rest keep
    # the tolerance
    extra = sol_slacks(lp, least) * (1 + 1e-6) + 1e-9
    lp.set_extra(extra)
    moves = lp.min_moves(tol, tol, overflow, left())
    widest = lp.max_deviations(moves.x if moves.solved else least.x)
    return Band(lp.cands, tol, tol, overflow, rounds, False, widest, extra), *refine_bundled(lp, moves, left())


def _binding_rows(lp: AssignmentLp, sol: LpSolution) -> dict[str, np.ndarray]:
    """Rep positions whose rows hold the min-max LP at its value (non-zero duals): band
    ``potential``/``workload`` rows, and ``capacity`` rows."""
    k = lp.reps.size
    duals = np.abs(sol.duals[lp.units.size : lp.units.size + 5 * k]).reshape(k, 5)
    tight = duals > 1e-9 * max(float(duals.max(initial=0.0)), 1e-12)
    return {
        "potential": lp.reps[tight[:, 0] | tight[:, 1]],
        "workload": lp.reps[tight[:, 2] | tight[:, 3]],
        "capacity": lp.reps[tight[:, 4]],
    }


def refine_bundled(lp: AssignmentLp, sol: LpSolution, time_limit: float) -> tuple[AssignmentLp, LpSolution]:
    """The min-moves LP of single accounts, from a bundled one's answer (else ``lp`` as is).

    Each account starts with the arcs its unit uses in ``sol`` (and its stay arc); pricing
    (``planner.lp``) adds the arcs the per-account LP needs. Its vertex has few fractional
    accounts, so rounding it costs few moves, and its bound is the per-account LP's.
    """
    data, u, full = lp.data, lp.units, lp.cands
    if u.size >= data.n or not sol.solved:
        return lp, sol
    used = sol.x > 1e-9
    unit_rep = np.zeros((u.size, data.m), dtype=bool)
    unit_rep[u.arc_unit[used], u.arc_rep[used]] = True
    mask = unit_rep[u.of_account] & full.mask
    mask[full.account[full.stay], full.rep[full.stay]] = True
    single = AssignmentLp(data, candidate_subset(full, mask, np.zeros(0, dtype=np.int64)), lp.tolerance,
                          price_cands=full)
    if lp.extra.any():
        single.set_extra(lp.extra)
    refined = single.min_moves(*lp.band, time_limit)
    if refined.solved and (refined.ok or not sol.ok):
        # both bound the same per-account LP; pricing cut short by time can leave the
        # bundled LP's Lagrangian bound the tighter one
        refined.bound = max(refined.bound, sol.bound)
        return single, refined
    return lp, sol


def _badness(sol: LpSolution) -> float:
    return sol.violation + OVERFLOW_COST * float(sol.overflow.sum())


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
