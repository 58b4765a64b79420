"""Plan quality measures: balance, disruption and travel, before and after.

Definitions (shared by the CLI, metrics.json and the benchmark):

- relative deviation of an active rep: (load - target) / target, target from
  :func:`planner.validate.balance_targets`; *max deviation* is the largest absolute value;
- coefficient of variation (CV): std / mean of load / target over active reps;
- moves: accounts whose owner changes; moved potential share: their potential / total;
- travel: sum over accounts of workload x km from the account to its owner's home, times the
  account's travel weight (remote 0, hybrid 0.5, field 1; accounts whose owner is not a known
  rep are left out of "before"); price of balance = after / before;
- minutes per visit: drive minutes (the user's matrix where given, else the estimate, see
  ``planner.travel``) averaged over visits (workload), remote visits counting 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from territory.planner.distance import DistanceModel, build_distance_model
from territory.planner.instance import Instance
from territory.planner.travel import fallback_accounts, minutes_per_visit, travel_minutes
from territory.planner.validate import balance_targets, relative_deviation, rep_loads


@dataclass(frozen=True)
class RepRow:
    """One rep's before/after figures for the summary table."""

    rep_id: str
    name: str
    active: bool
    potential_before: float
    potential_after: float
    workload_before: float
    workload_after: float
    accounts_before: int
    accounts_after: int
    deviation_potential_before: float  # signed relative deviation; 0 for inactive reps
    deviation_potential_after: float
    deviation_workload_before: float
    deviation_workload_after: float
    minutes_per_visit_before: float = 0.0
    minutes_per_visit_after: float = 0.0


def current_assignment(instance: Instance) -> dict[str, str | None]:
    """The "before" picture: account id -> current owner id (may be None or unknown)."""
    return {a.id: a.owner_id for a in instance.accounts}


def travel_km(
    instance: Instance, assignment: Mapping[str, str | None], distance: DistanceModel | None = None
) -> float:
    """Workload-weighted km from accounts to their owner's home, times each account's travel
    weight (remote accounts cost nothing; unknown owners skipped)."""
    model = distance or build_distance_model(instance)
    rep_pos = {r.id: i for i, r in enumerate(instance.reps)}
    rows, reps, weights = [], [], []
    for j, account in enumerate(instance.accounts):
        pos = rep_pos.get(assignment.get(account.id) or "")
        if pos is not None:
            rows.append(j)
            reps.append(pos)
            weights.append(account.workload * account.travel_weight)
    if not rows:
        return 0.0
    return float(np.dot(np.asarray(weights), model.km(np.asarray(rows), np.asarray(reps))))


def balance_summary(instance: Instance, assignment: Mapping[str, str | None]) -> dict[str, float]:
    """Max absolute relative deviation and CV of potential and workload over active reps."""
    potential, workload, _ = rep_loads(instance, assignment)
    target_p, target_w = balance_targets(instance)
    return {
        "max_deviation_potential": _max_abs(relative_deviation(potential, target_p), target_p),
        "max_deviation_workload": _max_abs(relative_deviation(workload, target_w), target_w),
        "cv_potential": _cv(potential, target_p),
        "cv_workload": _cv(workload, target_w),
    }


def _max_abs(deviation: NDArray[np.float64], target: NDArray[np.float64]) -> float:
    values = np.abs(deviation[target > 0])
    return float(values.max()) if values.size else 0.0


def _cv(load: NDArray[np.float64], target: NDArray[np.float64]) -> float:
    ratio = load[target > 0] / target[target > 0]
    mean = ratio.mean() if ratio.size else 0.0
    return float(ratio.std() / mean) if mean > 0 else 0.0


def plan_metrics(
    instance: Instance, assignment: Mapping[str, str], distance: DistanceModel | None = None
) -> dict[str, float | int]:
    """Before/after balance, disruption and travel for an assignment.

    Returns:
        A flat dict with ``before_*``/``after_*`` max deviation and CV for potential and
        workload, ``moves``, ``moved_potential``, ``moved_potential_share``, ``travel_before``,
        ``travel_after``, ``price_of_balance`` (travel after / before) and
        ``travel_minutes_per_visit_before`` / ``_after`` and the totals ``travel_minutes_before`` /
        ``_after`` (workload x drive minutes x travel weight, the unit of the travel bounds).
    """
    model = distance or build_distance_model(instance)
    before_assignment = current_assignment(instance)
    result: dict[str, float | int] = {}
    for prefix, mapping in (("before", before_assignment), ("after", assignment)):
        for key, value in balance_summary(instance, mapping).items():
            result[f"{prefix}_{key}"] = value
    moved = [a for a in instance.accounts if assignment.get(a.id) != a.owner_id]
    total_potential = sum(a.potential for a in instance.accounts)
    moved_potential = float(sum(a.potential for a in moved))
    travel_before = travel_km(instance, before_assignment, model)
    travel_after = travel_km(instance, assignment, model)
    result.update(
        moves=len(moved),
        moved_potential=moved_potential,
        moved_potential_share=moved_potential / total_potential if total_potential > 0 else 0.0,
        travel_before=travel_before,
        travel_after=travel_after,
        price_of_balance=travel_after / travel_before if travel_before > 0 else 0.0,
        travel_minutes_per_visit_before=minutes_per_visit(instance, before_assignment)[0],
        travel_minutes_per_visit_after=minutes_per_visit(instance, assignment)[0],
        travel_minutes_before=travel_minutes(instance, before_assignment),
        travel_minutes_after=travel_minutes(instance, assignment),
    )
    return result


def rep_rows(instance: Instance, assignment: Mapping[str, str]) -> list[RepRow]:
    """Per-rep before/after rows, in the order of ``instance.reps``."""
    p0, w0, c0 = rep_loads(instance, current_assignment(instance))
    p1, w1, c1 = rep_loads(instance, assignment)
    target_p, target_w = balance_targets(instance)
    dp0, dp1 = relative_deviation(p0, target_p), relative_deviation(p1, target_p)
    dw0, dw1 = relative_deviation(w0, target_w), relative_deviation(w1, target_w)
    _, minutes0 = minutes_per_visit(instance, current_assignment(instance))
    _, minutes1 = minutes_per_visit(instance, assignment)
    return [
        RepRow(
            rep_id=rep.id,
            name=rep.name,
            active=rep.active,
            potential_before=float(p0[i]),
            potential_after=float(p1[i]),
            workload_before=float(w0[i]),
            workload_after=float(w1[i]),
            accounts_before=int(c0[i]),
            accounts_after=int(c1[i]),
            deviation_potential_before=float(dp0[i]),
            deviation_potential_after=float(dp1[i]),
            deviation_workload_before=float(dw0[i]),
            deviation_workload_after=float(dw1[i]),
            minutes_per_visit_before=float(minutes0[i]),
            minutes_per_visit_after=float(minutes1[i]),
        )
        for i, rep in enumerate(instance.reps)
    ]


def travel_report(instance: Instance, assignment: Mapping[str, str]) -> dict[str, object]:
    """The metrics.json travel keys beyond ``plan_metrics``: settings, source and per-rep
    minutes per visit (``{rep_id: {"before": .., "after": ..}}``)."""
    _, before = minutes_per_visit(instance, current_assignment(instance))
    _, after = minutes_per_visit(instance, assignment)
    return {
        "travel_road_factor": instance.travel.road_factor,
        "travel_speed_kmh": instance.travel.speed_kmh,
        "travel_times_source": "matrix" if instance.travel.minutes else "estimate",
        "travel_times_fallback_accounts": fallback_accounts(instance),
        "rep_travel_minutes_per_visit": {
            rep.id: {"before": round(float(before[i]), 2), "after": round(float(after[i]), 2)}
            for i, rep in enumerate(instance.reps)
        },
    }
