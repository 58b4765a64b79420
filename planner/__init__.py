"""Rebalance planner: pure functions from an instance to a validated plan (no CRM, no DB).

:func:`plan` is the entry point: it chooses the solver, solves and validates. The solving
core lives in ``planner.solve`` (imported lazily, it pulls in OR-Tools and HiGHS).
"""

from territory.planner.csv_io import (
    PlanInputError,
    read_instance,
    read_rep_overrides,
    write_instance,
    write_plan,
)
from territory.planner.distance import (
    DistanceModel,
    GreatCircleDistance,
    build_distance_model,
    haversine_km,
    nearest_reps,
)
from territory.planner.generate import generate_instance
from territory.planner.greedy import eligibility_matrix, greedy_plan
from territory.planner.instance import (
    REP_MODES,
    SOLVERS,
    VISIT_MODES,
    Instance,
    Move,
    Plan,
    PlanAccount,
    PlanOptions,
    PlanRep,
    TravelTimes,
)
from territory.planner.metrics import (
    RepRow,
    balance_summary,
    current_assignment,
    plan_metrics,
    rep_rows,
    travel_km,
)
from territory.planner.policy import core_available, plan
from territory.planner.report import plan_report
from territory.planner.travel import minutes_per_visit
from territory.planner.travel_csv import read_travel_times
from territory.planner.validate import (
    BALANCE_KINDS,
    HARD_KINDS,
    Violation,
    balance_deviations,
    balance_targets,
    rep_loads,
    validate_plan,
)

__all__ = [
    "BALANCE_KINDS",
    "HARD_KINDS",
    "DistanceModel",
    "GreatCircleDistance",
    "Instance",
    "Move",
    "Plan",
    "PlanAccount",
    "PlanOptions",
    "PlanInputError",
    "PlanRep",
    "RepRow",
    "REP_MODES",
    "SOLVERS",
    "TravelTimes",
    "VISIT_MODES",
    "Violation",
    "balance_summary",
    "core_available",
    "plan",
    "plan_report",
    "current_assignment",
    "plan_metrics",
    "read_instance",
    "read_rep_overrides",
    "read_travel_times",
    "minutes_per_visit",
    "rep_rows",
    "travel_km",
    "balance_deviations",
    "balance_targets",
    "build_distance_model",
    "eligibility_matrix",
    "generate_instance",
    "greedy_plan",
    "haversine_km",
    "nearest_reps",
    "rep_loads",
    "validate_plan",
    "write_instance",
    "write_plan",
]
