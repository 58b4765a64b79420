"""Travel in minutes: what the planner minimises and what managers read.

A visit's drive time is the user's routing-engine figure where ``instance.travel.minutes``
has one (``(rep_id, account_id) -> minutes``), else great-circle km x road factor at an
average speed (``TravelTimes``). An account's travel weight says which share of its workload
is a trip: remote accounts cost nothing, hybrid ones half, field ones all. The planner's
travel cost of an arc is ``weight x minutes`` per unit of workload; a rep's *minutes per
visit* is its workload-weighted mean of that cost (remote visits count 0).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from territory.planner.distance import GreatCircleDistance
from territory.planner.instance import Instance

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def travel_weights(instance: Instance) -> FloatArray:
    """Per account: share of its workload that is a trip (1 field, 0.5 hybrid, 0 remote)."""
    return np.array([a.travel_weight for a in instance.accounts], dtype=np.float64)


def mode_mask(instance: Instance) -> BoolArray:
    """``[n, m]``: True where the rep may take the account by visit mode (inside reps take
    remote accounts only)."""
    inside = np.array([r.mode == "inside" for r in instance.reps], dtype=bool)
    remote = np.array([a.visit_mode == "remote" for a in instance.accounts], dtype=bool)
    return ~inside[None, :] | remote[:, None]


def drive_minutes(instance: Instance) -> FloatArray:
    """Dense ``[n, m]`` drive minutes from each rep's home to each account."""
    minutes = GreatCircleDistance.from_instance(instance).matrix() * instance.travel.minutes_per_km
    given = instance.travel.minutes
    if given:
        rows, cols, values = _given_pairs(instance, given)
        minutes[rows, cols] = values
    return np.asarray(minutes, dtype=np.float64)


def pair_minutes(instance: Instance, account_idx: NDArray[np.int64], rep_idx: NDArray[np.int64]) -> FloatArray:
    """Drive minutes for account/rep index pairs (element-wise), matrix figures first."""
    km = GreatCircleDistance.from_instance(instance).km(account_idx, rep_idx)
    minutes = np.asarray(km, dtype=np.float64) * instance.travel.minutes_per_km
    given = instance.travel.minutes
    if given:
        accounts, reps = instance.accounts, instance.reps
        for i, (a, r) in enumerate(zip(account_idx.tolist(), rep_idx.tolist(), strict=True)):
            value = given.get((reps[r].id, accounts[a].id))
            if value is not None:
                minutes[i] = value
    return minutes


def _given_pairs(
    instance: Instance, given: Mapping[tuple[str, str], float]
) -> tuple[NDArray[np.int64], NDArray[np.int64], FloatArray]:
    account_pos = {a.id: i for i, a in enumerate(instance.accounts)}
    rep_pos = {r.id: i for i, r in enumerate(instance.reps)}
    known = [
        (account_pos[account_id], rep_pos[rep_id], value)
        for (rep_id, account_id), value in given.items()
        if account_id in account_pos and rep_id in rep_pos
    ]
    if not known:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    rows, cols, values = zip(*known, strict=True)
    return np.array(rows, np.int64), np.array(cols, np.int64), np.array(values, np.float64)


def fallback_accounts(instance: Instance) -> int:
    """Accounts the drive-time matrix lacks for at least one active rep that may take them
    (their travel to that rep is estimated); 0 without a matrix."""
    if not instance.travel.minutes:
        return 0
    rows, cols, _ = _given_pairs(instance, instance.travel.minutes)
    covered = np.zeros((len(instance.accounts), len(instance.reps)), dtype=bool)
    covered[rows, cols] = True
    active = np.array([r.active for r in instance.reps], dtype=bool)
    needed = mode_mask(instance) & active[None, :]
    return int(np.count_nonzero((needed & ~covered).any(axis=1)))


def minutes_per_visit(
    instance: Instance, assignment: Mapping[str, str | None]
) -> tuple[float, FloatArray]:
    """Mean drive minutes per visit overall and per rep (order of ``instance.reps``).

    Visits are workload; remote visits count 0 minutes and hybrid ones half. Accounts whose
    owner is not a rep are left out; a rep without workload has 0.
    """
    reps, workload, cost = _visit_costs(instance, assignment)
    m = len(instance.reps)
    visits = np.bincount(reps, workload, minlength=m)
    per_rep = np.bincount(reps, cost, minlength=m) / np.maximum(visits, 1e-12)
    overall = float(cost.sum() / workload.sum()) if workload.sum() > 0 else 0.0
    return overall, np.where(visits > 0, per_rep, 0.0)


def travel_minutes(instance: Instance, assignment: Mapping[str, str | None]) -> float:
    """Total drive minutes: workload x drive minutes x travel weight over accounts with a
    known owner (the planner's travel objective, and the unit of its travel bounds)."""
    return float(_visit_costs(instance, assignment)[2].sum())


def _visit_costs(
    instance: Instance, assignment: Mapping[str, str | None]
) -> tuple[NDArray[np.int64], FloatArray, FloatArray]:
    """Per account with a known owner: the owner's position, its workload and its travel cost."""
    rep_pos = {r.id: i for i, r in enumerate(instance.reps)}
    pairs = [
        (j, rep_pos[owner])
        for j, account in enumerate(instance.accounts)
        if (owner := assignment.get(account.id)) is not None and owner in rep_pos
    ]
    rows = np.array([p[0] for p in pairs], dtype=np.int64)
    reps = np.array([p[1] for p in pairs], dtype=np.int64)
    workload = np.array([instance.accounts[j].workload for j in rows.tolist()], dtype=np.float64)
    if not pairs:
        return reps, workload, np.zeros(0)
    return reps, workload, workload * travel_weights(instance)[rows] * pair_minutes(instance, rows, reps)


def travel_notes(instance: Instance) -> list[str]:
    """What the plan's travel figures stand on, when a drive-time matrix was given."""
    if not instance.travel.minutes:
        return []
    source = instance.travel.source
    missing = fallback_accounts(instance)
    if not missing:
        return [f"Travel uses {source} for every account."]
    return [
        f"{missing} of {len(instance.accounts)} accounts lack drive times in {source} for some reps: "
        f"their travel to those reps is estimated (great-circle km x {instance.travel.road_factor:g} "
        f"at {instance.travel.speed_kmh:g} km/h)."
    ]

