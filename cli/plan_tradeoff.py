"""`territory plan --tradeoff`: one plan per tolerance, side by side (the price of balance)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from territory.planner.instance import Instance, Plan, PlanOptions


def print_tradeoff(
    console: Console,
    instance: Instance,
    options: PlanOptions,
    tolerances: list[float],
    solved: dict[float, tuple[Plan, float]] | None = None,
) -> list[dict[str, Any]]:
    """Solve once per tolerance, print the trade-off table (the price of balance) and return
    its rows: moves, travel, price of balance and max deviation.

    ``solved`` (if given) receives each plan and its seconds, so the main plan can reuse one.
    """
    console.print(
        f"Trade-off over tolerances {', '.join(f'{t:.0%}' for t in tolerances)} ({options.time_limit:g}s limit each)"
    )
    rows = [_tradeoff_row(instance, replace(options, tolerance=t), solved) for t in tolerances]
    table = Table(title="Price of balance")
    for column in (
        "Tolerance",
        "Moves",
        "Moved potential",
        "Min/visit",
        "Travel vs before",
        "Max dev. potential",
        "Max dev. workload",
        "Status",
    ):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            f"{row['tolerance']:.0%}",
            str(row["moves"]),
            f"{row['moved_potential_share']:.1%}",
            f"{row['travel_minutes_per_visit_after']:.1f}",
            f"x{row['price_of_balance']:.2f}",
            f"{row['max_deviation_potential']:.1%}",
            f"{row['max_deviation_workload']:.1%}",
            str(row["solver_status"]),
        )
    console.print(table)
    return rows


def _tradeoff_row(
    instance: Instance, options: PlanOptions, solved: dict[float, tuple[Plan, float]] | None
) -> dict[str, Any]:
    from territory.planner import plan as make_plan
    from territory.planner import plan_metrics

    started = time.perf_counter()
    plan = make_plan(instance, options)
    if solved is not None:
        solved[options.tolerance] = (plan, time.perf_counter() - started)
    figures = plan_metrics(instance, plan.assignment)
    return {
        "tolerance": options.tolerance,
        "moves": figures["moves"],
        "moved_potential_share": figures["moved_potential_share"],
        "travel_after": figures["travel_after"],
        "travel_minutes_per_visit_after": figures["travel_minutes_per_visit_after"],
        "price_of_balance": figures["price_of_balance"],
        "max_deviation_potential": figures["after_max_deviation_potential"],
        "max_deviation_workload": figures["after_max_deviation_workload"],
        "solver_status": plan.metrics.get("solver_status", plan.metrics.get("status", "UNKNOWN")),
        "seconds": time.perf_counter() - started,
    }
