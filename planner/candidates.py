"""Sparse candidate arcs for the solving core (over ``planner.problem.ProblemData``).

An *arc* ``(account, rep)`` says the account may end with that rep. Every account gets its
current owner (when that owner is active and may keep it) plus its ``reach`` nearest eligible
active reps. Arcs beyond the reach are added only by :func:`widen_candidates`, only for the
accounts that need them, and are flagged as widened so the plan can say so.

Precedence of the hard rules, applied here once for every later phase:

1. every account ends with exactly one *active* owner, so a locked account of an inactive
   (departed) or unknown rep is released: the lock cannot be honoured;
2. a locked account of an active rep stays, even when that rep does not serve its industry
   (the lock is an explicit human decision that predates the plan);
3. otherwise an account may only go to reps that serve its industry; when no active rep does,
   it falls back to its nearest active reps and the plan explains the industry gap;
4. field and hybrid accounts never go to inside reps (not even as a fallback); remote accounts
   may go to every eligible inside rep whatever the distance, besides their nearest reps.

Nearness is drive minutes (``ProblemData.drive``), not the travel cost: a remote account
costs no travel anywhere, yet its field candidates are still the reps near it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from territory.planner.problem import BoolArray, FloatArray, IntArray, ProblemData


@dataclass
class Candidates:
    """Arcs sorted by account; arcs of account ``i`` are ``start[i]:start[i + 1]``."""

    account: IntArray
    rep: IntArray
    km: FloatArray
    stay: BoolArray  # arc keeps the current owner (no move)
    widened: BoolArray  # arc lies beyond the account's base reach
    start: IntArray
    mask: BoolArray  # [n, m] the same arcs as a dense mask

    @property
    def size(self) -> int:
        return int(self.account.size)


def nearest_mask(
    data: ProblemData, k: int, rows: IntArray | None = None, allowed_reps: BoolArray | None = None
) -> BoolArray:
    """[len(rows), m] mask of each account's ``k`` nearest eligible active reps.

    Orphaned accounts (no eligible rep) use their ``k`` nearest active reps instead;
    ``allowed_reps`` restricts the reps considered.
    """
    rows = np.arange(data.n) if rows is None else rows
    allowed = np.where(data.orphaned[rows, None], data.active[None, :] & data.mode_ok[rows], data.eligible[rows])
    if allowed_reps is not None:
        allowed = allowed & allowed_reps[None, :]
    dist = np.where(allowed, data.drive[rows], np.inf)
    k_eff = int(min(k, data.m))
    mask = np.zeros(dist.shape, dtype=bool)
    if k_eff <= 0 or dist.shape[0] == 0:
        return mask
    if k_eff < data.m:
        part = np.argpartition(dist, k_eff - 1, axis=1)[:, :k_eff]
    else:
        part = np.broadcast_to(np.arange(data.m), dist.shape)
    np.put_along_axis(mask, part, True, axis=1)
    return mask & np.isfinite(dist)


def stay_mask(data: ProblemData) -> BoolArray:
    """[n, m] mask of the current owner where the account may keep it."""
    mask = np.zeros((data.n, data.m), dtype=bool)
    rows = np.flatnonzero(data.owner_active)
    owners = data.owner[rows]
    keep = data.fixed[rows] | data.eligible[rows, owners]
    mask[rows[keep], owners[keep]] = True
    return mask


def base_mask(data: ProblemData, reach: int) -> BoolArray:
    """Stay arcs plus the ``reach`` nearest eligible reps (remote accounts: plus every eligible
    inside rep); fixed accounts keep only their owner."""
    mask = nearest_mask(data, reach) | stay_mask(data) | remote_mask(data)
    fixed_rows = np.flatnonzero(data.fixed)
    mask[fixed_rows] = False
    mask[fixed_rows, data.owner[fixed_rows]] = True
    return mask


def remote_mask(data: ProblemData) -> BoolArray:
    """[n, m] arcs from remote accounts to every eligible inside rep, whatever the distance."""
    inside = np.array([r.mode == "inside" for r in data.instance.reps], dtype=bool)
    if not inside.any():
        return np.zeros((data.n, data.m), dtype=bool)
    remote = np.array([a.visit_mode == "remote" for a in data.instance.accounts], dtype=bool)
    return data.eligible & inside[None, :] & remote[:, None]


def build_candidates(data: ProblemData, mask: BoolArray, base: BoolArray) -> Candidates:
    """Arcs of a dense mask; arcs not in ``base`` are flagged as widened."""
    account, rep = np.nonzero(mask)
    account = account.astype(np.int64)
    rep = rep.astype(np.int64)
    start = np.searchsorted(account, np.arange(data.n + 1)).astype(np.int64)
    return Candidates(
        account=account,
        rep=rep,
        km=data.dist[account, rep],
        stay=rep == data.owner[account],
        widened=~base[account, rep],
        start=start,
        mask=mask,
    )


def candidate_subset(full: Candidates, mask: BoolArray, add: IntArray) -> Candidates:
    """The arcs of ``full`` inside ``mask``, plus the arcs ``full[add]`` (flags kept)."""
    mask = mask.copy()
    mask[full.account[add], full.rep[add]] = True
    keep = mask[full.account, full.rep]
    account = full.account[keep]
    return Candidates(
        account=account,
        rep=full.rep[keep],
        km=full.km[keep],
        stay=full.stay[keep],
        widened=full.widened[keep],
        start=np.searchsorted(account, np.arange(full.start.size)).astype(np.int64),
        mask=mask & full.mask,
    )


def widen_candidates(
    data: ProblemData, mask: BoolArray, short_reps: IntArray, long_reps: IntArray, k: int
) -> BoolArray:
    """Add arcs for accounts that need them: around reps that cannot reach their band.

    Args:
        data: Problem arrays.
        mask: Current candidate mask (not modified).
        short_reps: Reps below their lower bound: accounts with such a rep among their ``k``
            nearest eligible reps gain an arc to it.
        long_reps: Reps above their upper bound: their movable accounts gain arcs to their
            ``k`` nearest eligible reps.
        k: The widened reach.

    Returns:
        The widened mask.
    """
    wide = mask.copy()
    near = nearest_mask(data, k)
    movable = ~data.fixed
    for rep in short_reps:
        rows = np.flatnonzero(near[:, rep] & movable)
        wide[rows, rep] = True
    if long_reps.size:
        # accounts of over-full reps reach out to the nearest reps that still have room
        room = data.active.copy()
        room[long_reps] = False
        rows = np.flatnonzero(np.isin(data.owner, long_reps) & movable)
        wide[rows] |= nearest_mask(data, max(k // 4, 3), rows, allowed_reps=room)
    return wide


@dataclass
class Units:
    """Accounts bundled for the LP: same owner, same arcs, similar potential and workload.

    A unit of one account is exact. Larger units make a 50k-account LP small enough to solve
    in seconds; the LP bound stays valid because it is computed from the unit LP's duals on
    the per-account problem (see ``planner.lp``). Arcs of unit ``u`` are
    ``arc_start[u]:arc_start[u + 1]``.
    """

    of_account: IntArray  # unit of each account
    order: IntArray  # accounts sorted by unit
    start: IntArray  # members of unit u are order[start[u]:start[u + 1]]
    potential: FloatArray
    workload: FloatArray
    count: FloatArray
    arc_unit: IntArray
    arc_rep: IntArray
    arc_stay: BoolArray
    arc_travel: FloatArray  # sum over members of workload x km to the arc's rep
    arc_start: IntArray

    @property
    def size(self) -> int:
        return int(self.count.size)


def build_units(data: ProblemData, cands: Candidates, max_units: int) -> Units:
    """Bundle accounts into at most about ``max_units`` units (singletons when n fits)."""
    n = data.n
    if max_units >= n:
        return _single_units(data, cands)
    stay = np.zeros(n, dtype=np.int64)
    stay_rows = cands.account[cands.stay]
    stay[stay_rows] = 1
    signature = np.concatenate([np.packbits(cands.mask, axis=1), (data.owner[:, None] + 1).view(np.uint8).reshape(n, -1),
                                stay[:, None].astype(np.uint8)], axis=1)
    _, group = np.unique(signature, axis=0, return_inverse=True)
    group = group.ravel()
    chunk = max(1, int(np.ceil(n / max(max_units, 1))))
    order = np.lexsort((-data.potential, data.workload, group))  # within a group: by workload, then potential
    g_sorted = group[order]
    rank = np.arange(n) - np.searchsorted(g_sorted, g_sorted, side="left")
    new_unit = np.ones(n, dtype=bool)
    if n:
        new_unit[1:] = (g_sorted[1:] != g_sorted[:-1]) | (rank[1:] % chunk == 0)
    unit_sorted = np.cumsum(new_unit) - 1
    of_account = np.empty(n, dtype=np.int64)
    of_account[order] = unit_sorted
    n_units = int(unit_sorted[-1] + 1) if n else 0
    start = np.searchsorted(unit_sorted, np.arange(n_units + 1)).astype(np.int64)
    first = order[start[:-1]]
    lengths = cands.start[first + 1] - cands.start[first]
    arc_index = np.concatenate([np.arange(cands.start[a], cands.start[a + 1]) for a in first] or [np.zeros(0, np.int64)])
    arc_unit = np.repeat(np.arange(n_units), lengths)
    arc_rep = cands.rep[arc_index]
    weighted = data.workload[order, None] * data.dist[order]
    per_unit = np.add.reduceat(weighted, start[:-1], axis=0) if n_units else np.zeros((0, data.m))
    return Units(
        of_account=of_account,
        order=order,
        start=start,
        potential=np.asarray(np.bincount(of_account, data.potential, minlength=n_units), dtype=np.float64),
        workload=np.asarray(np.bincount(of_account, data.workload, minlength=n_units), dtype=np.float64),
        count=np.bincount(of_account, minlength=n_units).astype(np.float64),
        arc_unit=arc_unit,
        arc_rep=arc_rep,
        arc_stay=cands.stay[arc_index],
        arc_travel=per_unit[arc_unit, arc_rep],
        arc_start=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
    )


def _single_units(data: ProblemData, cands: Candidates) -> Units:
    """One unit per account, in account order: unit ``i`` is account ``i`` and its arcs are
    exactly ``cands`` (so unit rows stay put when pricing adds arcs, see ``planner.lp``)."""
    n = data.n
    return Units(
        of_account=np.arange(n, dtype=np.int64),
        order=np.arange(n, dtype=np.int64),
        start=np.arange(n + 1, dtype=np.int64),
        potential=data.potential.copy(),
        workload=data.workload.copy(),
        count=np.ones(n),
        arc_unit=cands.account,
        arc_rep=cands.rep,
        arc_stay=cands.stay,
        arc_travel=data.workload[cands.account] * cands.km,
        arc_start=cands.start,
    )
