"""What every integer phase shares: the problem, the arcs, the band in load units.

:class:`SearchContext` is built once from the LP band (:func:`build_search_context`) and read
by the repair, the neighbourhood search and the CP-SAT model alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from territory.planner.band import Band
from territory.planner.candidates import Candidates
from territory.planner.instance import PlanOptions
from territory.planner.lp import AssignmentLp
from territory.planner.problem import ProblemData

CAPACITY_WEIGHT = 100  # repair: one unit above capacity costs as much as 100 units off balance


@dataclass
class SearchContext:
    """What every neighbourhood solve shares: data, arcs, the band, solver settings."""

    data: ProblemData
    cands: Candidates
    lo_p: np.ndarray
    hi_p: np.ndarray
    lo_w: np.ndarray
    hi_w: np.ndarray  # already capped by capacity (plus any unavoidable overflow)
    seed: int
    workers: int  # neighbourhoods solved side by side (each CP-SAT run uses one worker)
    capacity_caps: np.ndarray | None = None  # per rep: hi_w is its capacity (a hard rule), not the band

    def over_weights(self) -> np.ndarray:
        """Weight of workload above ``hi_w`` per rep: a capacity breach counts
        ``CAPACITY_WEIGHT`` times a balance miss, so repairs fix capacity first."""
        caps = self.capacity_caps if self.capacity_caps is not None else np.zeros(self.data.m, dtype=bool)
        return np.where(caps, CAPACITY_WEIGHT, 1.0)

    def violation(self, assign: np.ndarray) -> float:
        """Total band violation, relative to targets (0 means every rep is inside its band;
        capacity breaches weigh ``CAPACITY_WEIGHT`` times more)."""
        load_p, load_w = self.loads(assign)
        return float(self.excess(load_p, load_w, np.arange(self.data.m)).sum())

    def excess(self, load_p: np.ndarray, load_w: np.ndarray, reps: np.ndarray) -> np.ndarray:
        """Band violation of ``reps`` at these loads, relative to their targets (the one
        measure the repair phases share)."""
        over_p = np.maximum(load_p - self.hi_p[reps], 0) + np.maximum(self.lo_p[reps] - load_p, 0)
        over_w = np.maximum(load_w - self.hi_w[reps], 0) * self.over_weights()[reps]
        over_w = over_w + np.maximum(self.lo_w[reps] - load_w, 0)
        return over_p / np.maximum(self.data.target_p[reps], 1e-12) + over_w / np.maximum(self.data.target_w[reps], 1e-12)

    def loads(self, assign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = self.data.m
        return (
            np.bincount(assign, self.data.potential, minlength=m),
            np.bincount(assign, self.data.workload, minlength=m),
        )


def moved_potential(data: ProblemData, assign: np.ndarray) -> float:
    """Total potential of the accounts whose owner changes."""
    return float(data.potential[assign != data.owner].sum())


def build_search_context(data: ProblemData, lp: AssignmentLp, band: Band, options: PlanOptions) -> SearchContext:
    """The band the integer phases keep, in load units: the LP band (per-rep extras and
    allowed capacity overflow included), capped by capacity."""
    active = data.active
    overflow = np.zeros(data.m)
    overflow[lp.reps] = np.where(np.isfinite(band.overflow), band.overflow, 0.0) * lp.scale_w
    extra = np.zeros((data.m, 4))
    if band.extra is not None:
        extra[lp.reps] = band.extra * np.array([lp.scale_p, lp.scale_p, lp.scale_w, lp.scale_w])
    band_hi_w = data.target_w * (1 + band.delta_w) + extra[:, 2]
    hi_w = np.minimum(band_hi_w, data.capacity + overflow)
    lo_w = data.target_w * (1 - band.delta_w) - extra[:, 3]
    # where capacity caps the band, the LP may squeeze it to a window narrower than one
    # account's workload, which no whole-account plan hits: the balance edge yields, so the
    # search never trades a capacity breach for balance
    step = float(data.workload[~data.fixed].max(initial=0.0))
    lo_w = np.where(hi_w < band_hi_w, np.minimum(lo_w, hi_w - step), lo_w)
    return SearchContext(
        data=data,
        cands=band.cands,
        lo_p=np.where(active, data.target_p * (1 - band.delta_p) - extra[:, 1], 0.0),
        hi_p=np.where(active, data.target_p * (1 + band.delta_p) + extra[:, 0], 0.0),
        lo_w=np.where(active, lo_w, 0.0),
        hi_w=np.where(active, hi_w, 0.0),
        capacity_caps=active & (hi_w < band_hi_w),
        seed=options.seed,
        workers=options.num_workers or os.cpu_count() or 1,
    )
