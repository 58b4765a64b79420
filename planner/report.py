"""Everything metrics.json says about a plan: solver figures, measures, validation.

Pure: the CLI writes the dict as JSON, the store keeps it with a scenario.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any

import numpy as np

from territory.planner.instance import Instance, Plan, PlanOptions
from territory.planner.metrics import plan_metrics, travel_report
from territory.planner.validate import balance_deviations, validate_plan

# The solving core's own names for figures that metrics.json carries under the documented
# key on the right (docs/planner.md, "One key per figure"): dropped from metrics.json so
# that every figure has exactly one key. The core's CV (std of load / target) is not the
# documented coefficient of variation (std / mean), so it goes as well.
REPLACED_KEYS = {
    "status": "solver_status",
    "phase_seconds": "phase_timings",
    "max_deviation_potential": "after_max_deviation_potential",
    "max_deviation_workload": "after_max_deviation_workload",
    "max_deviation_potential_before": "before_max_deviation_potential",
    "max_deviation_workload_before": "before_max_deviation_workload",
    "cv_potential": "after_cv_potential",
    "cv_workload": "after_cv_workload",
    "cv_potential_before": "before_cv_potential",
    "cv_workload_before": "before_cv_workload",
    "travel": "travel_minutes_after",
    "moves_gap": "gap",
}


def plan_report(instance: Instance, options: PlanOptions, plan: Plan, wall_seconds: float) -> dict[str, Any]:
    """The metrics.json keys for ``plan`` (solver metrics passed through as plain values).

    Args:
        instance: The planned instance.
        options: The options the plan was made with.
        plan: The plan (its ``violations`` are used when set, else it is validated here).
        wall_seconds: Seconds the plan took, reported as ``phase_timings.total``.
    """
    metrics: dict[str, Any] = {str(key): plain(value) for key, value in plan.metrics.items()}
    metrics.update(plan_metrics(instance, plan.assignment))
    metrics.update(travel_report(instance, plan.assignment))
    lower = metrics.get("lp_lower_bound_moves")
    moves = int(metrics["moves"])
    metrics["lp_lower_bound_moves"] = lower
    metrics["gap"] = _gap(moves, lower)
    # the solving core says "status" / "phase_seconds"; metrics.json says the documented names
    metrics.setdefault("solver_status", metrics.get("status", "UNKNOWN"))
    metrics.setdefault("phase_timings", metrics.get("phase_seconds", {}))
    metrics["phase_timings"] = {**metrics["phase_timings"], "total": wall_seconds}
    for replaced in REPLACED_KEYS:
        metrics.pop(replaced, None)
    metrics["explanations"] = list(plan.explanations)
    metrics.setdefault("widened_accounts", [])
    violations = plan.violations if plan.violations is not None else validate_plan(instance, options, plan.assignment)
    metrics["violations"] = [v.__dict__ for v in violations]
    metrics["tolerance"] = options.tolerance
    metrics["tolerance_met"] = not balance_deviations(instance, options, plan.assignment)
    metrics.update(reach=options.reach, seed=options.seed, time_limit=options.time_limit)
    return metrics


def _gap(moves: int, lower: object) -> float | None:
    if not isinstance(lower, (int, float)):
        return None
    if lower <= 0:
        return 0.0 if moves == 0 else None
    return moves / float(lower) - 1.0


def plain(value: Any) -> Any:
    """A value as JSON-ready Python (numpy scalars and arrays, sets, dataclasses)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
