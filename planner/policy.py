"""The planner's one entry point: choose the solver, solve, validate.

:func:`plan` is what the CLI, the demo and scripts call. It picks the solving core
(``planner.solve``, OR-Tools and HiGHS) when ``options.solver`` is ``"auto"`` and the core is
installed, else the greedy baseline, and always runs the solver-independent validator, so the
plan it returns carries its own ``violations``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from territory.planner.greedy import greedy_plan
from territory.planner.instance import SOLVERS, Instance, Plan, PlanOptions
from territory.planner.travel import travel_notes
from territory.planner.validate import validate_plan


def core_available() -> bool:
    """True when the solving core (``planner.solve`` and its solvers) is installed."""
    return importlib.util.find_spec("territory.planner.solve") is not None


def plan(instance: Instance, options: PlanOptions, progress: Callable[..., None] | None = None) -> Plan:
    """Plan new owners for every account and validate the result.

    Args:
        instance: Accounts and reps (and, optionally, a drive-time matrix).
        options: Tolerance, reach, time limit, seed, solver (``"auto"`` or ``"greedy"``) and
            the travel-time estimate's settings.
        progress: Called with a short line at each phase and during long searches.

    Returns:
        The plan with ``violations`` from :func:`planner.validate.validate_plan` (empty when
        every hard rule holds).

    Raises:
        ValueError: ``options.solver`` is not one of ``SOLVERS``.
    """
    if options.solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(SOLVERS)}, got {options.solver!r}")
    if options.solver == "auto" and core_available():
        from territory.planner.solve import solve  # lazy: pulls in OR-Tools and HiGHS

        result = solve(instance, options, progress=progress)
    else:
        result = greedy_plan(instance, options, progress=progress)
        if options.solver == "auto":
            result.explanations.append(
                "The CP-SAT planner is not installed in this build; this is the greedy baseline plan."
            )
    result.explanations.extend(travel_notes(instance))
    result.violations = validate_plan(instance, options, result.assignment)
    return result
