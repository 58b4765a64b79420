"""What `territory plan` prints: progress lines and the before/after summary."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from territory.planner.instance import Instance, Plan


def make_console() -> Console:
    """A terminal gets its own width; pipes and files get 120 columns so tables do not fold."""
    console = Console()
    return console if console.is_terminal else Console(width=120)


def progress_printer(console: Console, started: float) -> Callable[..., None]:
    def progress(*args: object, **kwargs: object) -> None:
        text = " ".join(str(a) for a in args)
        if kwargs:
            text += " " + " ".join(f"{k}={v}" for k, v in kwargs.items())
        console.print(f"[dim][{time.perf_counter() - started:6.1f}s][/dim] {text}")

    return progress


def print_summary(console: Console, instance: Instance, plan: Plan, metrics: dict[str, Any]) -> None:
    """Per-rep before/after table, then the headline figures and explanations."""
    from territory.planner.metrics import rep_rows

    table = Table(title="Territories before -> after")
    for column in (
        "Rep",
        "Active",
        "Accounts",
        "Potential",
        "Workload",
        "Dev. potential",
        "Dev. workload",
    ):  # before->after
        table.add_column(column, justify="left" if column == "Rep" else "right", no_wrap=True)
    for row in rep_rows(instance, plan.assignment):
        table.add_row(
            row.rep_id,
            "yes" if row.active else "no",
            f"{row.accounts_before}->{row.accounts_after}",
            f"{_compact(row.potential_before)}->{_compact(row.potential_after)}",
            f"{_compact(row.workload_before)}->{_compact(row.workload_after)}",
            (
                f"{row.deviation_potential_before:+.0%}->{row.deviation_potential_after:+.1%}"
                if row.active
                else "-"
            ),
            (
                f"{row.deviation_workload_before:+.0%}->{row.deviation_workload_after:+.1%}"
                if row.active
                else "-"
            ),
        )
    console.print(table)
    m = metrics
    console.print(
        f"Max deviation: potential {m['before_max_deviation_potential']:.1%} -> {m['after_max_deviation_potential']:.1%}, "
        f"workload {m['before_max_deviation_workload']:.1%} -> {m['after_max_deviation_workload']:.1%} "
        f"(CV {m['before_cv_potential']:.3f} -> {m['after_cv_potential']:.3f}, {m['before_cv_workload']:.3f} -> {m['after_cv_workload']:.3f})"
    )
    bound = m.get("lp_lower_bound_moves")
    bound_text = (
        f"; LP lower bound {bound:.0f}, gap {m['gap']:.1%}"
        if isinstance(bound, (int, float)) and m.get("gap") is not None
        else ""
    )
    console.print(f"Moves: {m['moves']} accounts, {m['moved_potential_share']:.1%} of potential{bound_text}")
    console.print(
        f"Travel (workload x km): {m['travel_before']:,.0f} -> {m['travel_after']:,.0f} "
        f"(price of balance x{m['price_of_balance']:.2f})"
    )
    widened = m.get("widened_accounts") or []
    widened_count = widened if isinstance(widened, int) else len(widened)
    if widened_count:
        console.print(f"Reach widened for {widened_count} account(s) where balance needed it")
    console.print(f"Solver: {m['solver_status']}, {m['phase_timings'].get('total', 0.0):.1f}s")
    for text in plan.explanations:
        console.print(f"Note: {text}")
    if "baseline_greedy" in m:
        b = m["baseline_greedy"]
        console.print(
            f"Greedy baseline: {b['moves']} moves, travel {b['travel_after']:,.0f}, max deviation "
            f"{b['after_max_deviation_potential']:.1%} / {b['after_max_deviation_workload']:.1%}"
        )


def _compact(value: float) -> str:
    """1234567 -> 1.23M, 45600 -> 45.6k: keeps the per-rep table inside 80 columns."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.0f}"
