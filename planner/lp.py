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

*Column generation* (``price_cands``): an LP of single accounts may hold only some of the
candidate arcs (at 50,000 accounts, those the bundled LP uses). After each solve the arcs
left out are priced with the row duals; each account's most negative one joins the model and
the stage is solved again, until the Lagrangian bound over every candidate arc meets the LP
value (then the restricted LP *is* the per-account LP) or ``price_rounds`` run out. The bound
stays valid in either case, because it is always evaluated over every candidate arc.

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
from dataclasses import dataclass, field

import highspy
import numpy as np

from territory.planner.candidates import Candidates, build_units, candidate_subset
from territory.planner.lagrangian import SideRows, lagrangian_bound, priced_arcs
from territory.planner.problem import ProblemData

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
TRAVEL_TIE = 0.05  # moves first, then travel (<= 0.05 move per account and trip)
MAX_LP_UNITS = 12_000  # up to this many accounts the LP is exact (one account per unit)
BUNDLED_LP_UNITS = 12_000  # above it, accounts are bundled to about this many units
PRICE_ROUNDS = 2  # column-generation rounds per stage within the planner's budget
PRICE_GAP = 1e-4  # stop pricing once the bound is within this share of the LP value


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
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))  # every column
    duals: np.ndarray = field(default_factory=lambda: np.zeros(0))  # every row


class AssignmentLp:
    """The warm-started LP over one candidate set (see module docstring).

    Args:
        data: Problem arrays.
        cands: The arcs the model starts with.
        tolerance: The balance tolerance (the band until a stage sets another).
        exact: One account per unit at every size (else bundled above ``MAX_LP_UNITS``).
        price_cands: All candidate arcs, when ``cands`` holds only some of them: the LP
            then prices the rest after each solve (column generation, single accounts).
    """

    def __init__(
        self,
        data: ProblemData,
        cands: Candidates,
        tolerance: float,
        exact: bool = False,
        price_cands: Candidates | None = None,
    ) -> None:
        self.data, self.tolerance = data, tolerance
        self.full = price_cands if price_cands is not None else cands
        self.priced = price_cands is not None
        self.price_rounds = PRICE_ROUNDS
        self.max_units = data.n if exact or self.priced or data.n <= MAX_LP_UNITS else BUNDLED_LP_UNITS
        self.reps = np.flatnonzero(data.active)
        k = self.reps.size
        self.scale_p = max(data.target_p.sum(), 1e-12) / max(k, 1)
        self.scale_w = max(data.target_w.sum(), 1e-12) / max(k, 1)
        self.stage_cost = np.zeros(0)
        self.stage = ""
        self.band: tuple[float, float, np.ndarray] = (tolerance, tolerance, np.zeros(k))
        self.caps: tuple[float, float] = (_INF, _INF)
        self.extra = np.zeros((k, 4))  # per-rep band beyond delta (best effort)
        self.highs = quiet_highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("random_seed", 0)
        self._load(cands)
        # objective scales fixed once, so that priced-in arcs cost the same as the first ones
        self.tie_norm = max(float(self.arc_potential.max(initial=0.0)), 1e-12)
        self.travel_scale = max(float(self.units.arc_travel.max(initial=0.0)), 1e-9)

    def _load(self, cands: Candidates) -> None:
        """(Re)build the HiGHS model over ``cands``; band, extra and caps are re-applied."""
        self.cands = cands
        self.units = build_units(self.data, cands, self.max_units)
        u, k = self.units, self.reps.size
        self.n_arcs = u.arc_unit.size
        self.moving = ~u.arc_stay
        self.arc_count = u.count[u.arc_unit]
        self.arc_potential = u.potential[u.arc_unit] / self.scale_p
        self.col_delta = self.n_arcs
        self.rows_moves = u.size + 5 * k
        self.rep_row = np.full(self.data.m, -1, dtype=np.int64)
        self.rep_row[self.reps] = u.size + 5 * np.arange(k)
        self.highs.passModel(self._build())
        if self.extra.any():
            self.set_extra(self.extra)
        self.set_band(*self.band)
        self._set_caps(*self.caps)

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
        self.set_band(self.tolerance, self.tolerance, np.zeros(k))
        self._set_caps(_INF, _INF)
        return self._solve("violation", time_limit, exact=False)

    def min_max_deviation(self, time_limit: float, pinned: np.ndarray | None = None, pinned_at: float = 0.0) -> LpSolution:
        """Smallest common band ``t`` (potential and workload of every active rep within
        ``(1 ± t) × target``) with capacity hard; the answer's ``bound`` is ``t``. Reps at
        ``pinned`` positions (among the active reps) keep the band ``pinned_at`` instead, so
        a second call finds the best band for the others. Not ``ok`` when capacity alone
        cannot hold the workload. The band columns are fixed again by :meth:`set_band`."""
        k, col = self.reps.size, self.col_delta
        pinned = np.zeros(0, dtype=np.int64) if pinned is None else pinned
        targets = self.row_targets()
        extra = np.zeros((k, 4))
        extra[pinned] = pinned_at * targets[pinned]
        self.set_extra(extra)
        self.set_band(self.tolerance, self.tolerance, np.zeros(k))
        self._set_caps(_INF, _INF)
        self._pin(pinned, targets, 0.0)
        self.highs.changeColsBounds(2, np.array([col, col + 1], dtype=np.int32), np.zeros(2), np.full(2, _INF))
        tie = self.highs.getNumRow()  # delta_p = delta_w: one t for both measures
        self.highs.addRow(0.0, 0.0, 2, np.array([col, col + 1], dtype=np.int32), np.array([1.0, -1.0]))
        self._set_stage("minmax")
        result = self._run(time_limit, exact=True)
        self.highs.deleteRows(1, np.array([tie], dtype=np.int32))
        self._pin(pinned, targets, 1.0)
        if result.solved:
            result.bound = float(result.values[col])
            result.duals = result.duals[:tie]
        self.set_extra(np.zeros((k, 4)))
        self.set_band(self.tolerance, self.tolerance, np.zeros(k))
        return result

    def row_targets(self) -> np.ndarray:
        """[k, 4] normalised targets per band row (potential twice, workload twice): a band
        of ``t`` is ``t * row_targets()`` in :meth:`set_extra` units."""
        tp, tw = self.data.target_p[self.reps] / self.scale_p, self.data.target_w[self.reps] / self.scale_w
        return np.stack([tp, tp, tw, tw], axis=1)

    def _pin(self, pinned: np.ndarray, targets: np.ndarray, scale: float) -> None:
        """Scale the band column's coefficients in the pinned reps' rows (0: their band is
        their extra alone; 1: restored)."""
        for i in pinned:
            row = self.units.size + 5 * int(i)
            for j, sign in enumerate((-1.0, 1.0, -1.0, 1.0)):
                self.highs.changeCoeff(row + j, self.col_delta + j // 2, sign * scale * targets[i, j])

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
        self.highs.changeRowsBounds(rows.size, rows, lower, upper)  # type: ignore[attr-defined]  # missing from highspy's stubs

    def min_moves(
        self, delta_p: float, delta_w: float, overflow: np.ndarray, time_limit: float, short_trips: bool = False
    ) -> LpSolution:
        """Fewest moves (ties: least moved potential, or with ``short_trips`` least travel
        first) inside the band; bound on moves."""
        self.set_band(delta_p, delta_w, overflow)
        self._set_caps(_INF, _INF)
        result = self._solve("moves+travel" if short_trips else "moves", time_limit, exact=True)
        if result.ok:
            result.bound = lagrangian_bound(self.side_rows(), ~self.full.stay * 1.0, result.moves, result.duals)
        return result

    def min_travel(self, max_moves: float, max_moved_potential: float, time_limit: float) -> LpSolution:
        """Least workload-weighted km with moves and moved potential capped (band kept)."""
        self._set_caps(max_moves, max_moved_potential)
        result = self._solve("travel", time_limit, exact=True)
        if result.ok:
            travel = self.data.workload[self.full.account] * self.full.km
            scaled = lagrangian_bound(self.side_rows(), travel / self.travel_scale, result.travel / self.travel_scale, result.duals)
            result.bound = scaled * self.travel_scale
        return result

    def arc_costs(self, stage: str, count: np.ndarray, potential: np.ndarray, travel: np.ndarray,
                  moving: np.ndarray) -> np.ndarray:
        """Objective of ``stage`` per arc (unit arcs of the model, or account arcs to price)."""
        if stage == "moves":
            return moving * (count + MOVED_POTENTIAL_TIE * potential / self.tie_norm)
        if stage == "moves+travel":
            return moving * count + TRAVEL_TIE * travel / self.travel_scale
        if stage == "travel":
            return travel / self.travel_scale
        return np.zeros(count.size)

    def _rep_costs(self, stage: str) -> np.ndarray:
        """Band slack at ``ELASTIC_COST`` (capacity overflow far above it: hard rule first);
        the violation stage minimises the slacks themselves."""
        k = self.reps.size
        if stage == "violation":
            return np.concatenate([np.ones(4 * k), np.full(k, OVERFLOW_COST)])
        return np.concatenate([np.full(4 * k, ELASTIC_COST), np.full(k, ELASTIC_COST * OVERFLOW_COST)])

    def _set_stage(self, stage: str) -> None:
        u = self.units
        arc = self.arc_costs(stage, self.arc_count, self.arc_potential, u.arc_travel, self.moving)
        band = [1.0, 0.0] if stage == "minmax" else [0.0, 0.0]
        self.stage, self.stage_cost = stage, np.concatenate([arc, band, self._rep_costs(stage)])
        cols = np.arange(self.stage_cost.size, dtype=np.int32)
        self.highs.changeColsCost(cols.size, cols, self.stage_cost)

    def _solve(self, stage: str, time_limit: float, exact: bool) -> LpSolution:
        """Solve ``stage``; with pricing, add each account's best missing arc and re-solve
        while the bound over every arc stays short of the LP value (module docstring)."""
        deadline = time.monotonic() + max(float(time_limit), 0.05)
        if self.priced and stage != self.stage:
            # a cold solve (with presolve) of the new objective beats HiGHS' warm start
            # from the last stage's basis many times over at 50,000 single accounts
            self._load(self.cands)
        self._set_stage(stage)
        started = time.monotonic()
        result = self._run(time_limit, exact)
        for _ in range(self.price_rounds if self.priced else 0):
            took = time.monotonic() - started
            if not result.solved or deadline - time.monotonic() < 1.5 * took:
                break
            arcs = self._arcs_to_add(stage, result)
            if arcs.size == 0:
                break
            previous, old_key = result, self._arc_key()
            self._load(candidate_subset(self.full, self.cands.mask, arcs))
            self._set_stage(stage)
            started = time.monotonic()
            result = self._run(deadline - time.monotonic(), exact)
            if not result.solved:  # out of time: keep the last answer, in the new arc layout
                result = previous
                result.x = self._expand(result.x, old_key)
                break
        return result

    def _arc_key(self) -> np.ndarray:
        return self.units.arc_unit * self.data.m + self.units.arc_rep

    def _expand(self, x: np.ndarray, old_key: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n_arcs)
        out[np.searchsorted(self._arc_key(), old_key)] = x
        return out

    def _arcs_to_add(self, stage: str, result: LpSolution) -> np.ndarray:
        """Indices into ``self.full``: each account's most negative reduced-cost arc missing
        from the model; none once the Lagrangian bound over every arc (at these duals) is
        within ``PRICE_GAP`` of the LP value, so that more arcs could hardly lower it."""
        full, data = self.full, self.data
        moving = ~full.stay
        cost = self.arc_costs(stage, np.ones(full.size), data.potential[full.account] / self.scale_p,
                              data.workload[full.account] * full.km, moving)
        bound, priced = priced_arcs(self.side_rows(), cost, result.duals)
        value = float(self.stage_cost @ result.values)
        if value - bound <= PRICE_GAP * max(abs(value), 1.0):
            return np.zeros(0, dtype=np.int64)
        reduced = priced - result.duals[: self.units.size][full.account]
        reduced = np.where(self.cands.mask[full.account, full.rep], np.inf, reduced)
        best = np.minimum.reduceat(reduced, full.start[:-1]) if full.size else np.zeros(0)
        pick = np.flatnonzero((reduced < -1e-9) & (reduced <= np.repeat(best, np.diff(full.start))))
        return pick[np.unique(full.account[pick], return_index=True)[1]]

    def set_band(self, delta_p: float, delta_w: float, overflow: np.ndarray) -> None:
        """Fix the band and the allowed capacity overflow for the following stages
        (``min_travel`` keeps the last one set; elastic columns stay open)."""
        k = self.reps.size
        cols = np.arange(self.col_delta, self.col_delta + 2, dtype=np.int32)
        self.highs.changeColsBounds(2, cols, np.array([delta_p, delta_w]), np.array([delta_p, delta_w]))
        rows = (self.units.size + 5 * np.arange(k) + 4).astype(np.int32)
        self.highs.changeRowsBounds(k, rows, np.full(k, -_INF), self.cap_rhs + np.minimum(overflow, 1e30))  # type: ignore[attr-defined]
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
        solution = self.highs.getSolution()
        values = np.asarray(solution.col_value) if ok else np.zeros(self.n_arcs + 2 + 5 * k)
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
            values=values,
            duals=np.asarray(solution.row_dual) if ok else np.zeros(0),
        )

    def side_rows(self) -> SideRows:
        """The rows the Lagrangian bound relaxes, over every candidate arc (``self.full``),
        at the current band, extras and caps."""
        data, cands, k = self.data, self.full, self.reps.size
        rep_pos = np.zeros(data.m, dtype=np.int64)
        rep_pos[self.reps] = np.arange(k)
        delta_p, delta_w, overflow = self.band
        tp, tw = data.target_p[self.reps] / self.scale_p, data.target_w[self.reps] / self.scale_w
        extra = self.extra
        rhs = np.stack([tp * (1 + delta_p) + extra[:, 0], tp * (1 - delta_p) - extra[:, 1],
                        tw * (1 + delta_w) + extra[:, 2], tw * (1 - delta_w) - extra[:, 3],
                        self.cap_rhs + overflow], axis=1).ravel()
        rhs = np.concatenate([rhs, self.caps])
        return SideRows(
            start=cands.start,
            arc_rep=rep_pos[cands.rep],
            p=data.potential[cands.account] / self.scale_p,
            w=data.workload[cands.account] / self.scale_w,
            moving=(~cands.stay).astype(np.float64),
            rhs=rhs,
            upper_rows=np.concatenate([np.tile([True, False, True, False, True], k), [True, True]]),
            limit=np.abs(self.stage_cost[self.col_delta + 2 :]),  # elastic cost caps |y|
            free_rows=~np.isfinite(rhs) | (rhs >= 1e29),
            first_row=self.units.size,
            exact=self.units.count.max(initial=1.0) <= 1.0 and self.full is self.cands,
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
