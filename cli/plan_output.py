"""What `territory plan` writes and prints: plan.csv, metrics.json, progress lines and the
before/after summary (:func:`run_plan`, shared by `territory plan` and `territory demo`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from territory.cli.errors import EXIT_PARTIAL

if TYPE_CHECKING:
    from territory.planner.instance import Instance, Plan, PlanOptions

EXIT_INVALID_PLAN = 1  # a plan that breaks a hard rule is a planner bug; say so loudly


def make_console(stderr: bool = False) -> Console:
    """A terminal gets its own width; pipes and files get 120 columns so tables do not fold.
    ``stderr``: when stdout carries a document (``--json -``), people's output goes there."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(width=120, stderr=stderr)


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
        "Min/visit",
    ):  # before->after
        table.add_column(column, justify="left" if column == "Rep" else "right", no_wrap=True)
    for row in rep_rows(instance, plan.assignment):
        table.add_row(
            row.name or row.rep_id,
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
            f"{row.minutes_per_visit_before:.0f}->{row.minutes_per_visit_after:.0f}",
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
    console.print(travel_line(m))
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


def travel_line(m: dict[str, Any]) -> str:
    """'Travel: 31 -> 24 min per visit (7 min less; drive-time matrix), ...' from metrics."""
    before, after = m["travel_minutes_per_visit_before"], m["travel_minutes_per_visit_after"]
    change = f"{abs(before - after):.1f} min {'less' if after <= before else 'more'}"
    source = "drive-time matrix" if m.get("travel_times_source") == "matrix" else (
        f"estimated: great-circle km x {m['travel_road_factor']:g} at {m['travel_speed_kmh']:g} km/h"
    )
    return (
        f"Travel: {before:.1f} -> {after:.1f} min per visit ({change}; {source}); workload x km "
        f"{m['travel_before']:,.0f} -> {m['travel_after']:,.0f} (price of balance x{m['price_of_balance']:.2f})"
    )


def _compact(value: float) -> str:
    """1234567 -> 1.23M, 45600 -> 45.6k: keeps the per-rep table inside 80 columns."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.0f}"


def run_plan(
    instance: Instance,
    options: PlanOptions,
    out: Path | None,
    json_path: Path | None,
    *,
    console: Console | None = None,
    baseline: str | None = None,
    extra: dict[str, Any] | None = None,
    solved: tuple[Plan, float] | None = None,
    on_plan: Callable[[Plan, dict[str, Any]], None] | None = None,
) -> bool:
    """Solve, validate, write plan.csv / metrics.json and print the summary.

    Args:
        instance: Loaded from CSV or built from the store.
        options: Planner options (``options.solver`` picks the solver).
        out: Where plan.csv goes (None: do not write).
        json_path: Where metrics.json goes (None: do not write).
        console: Rich console for progress and the summary.
        baseline: 'greedy' to also run and report the greedy baseline.
        extra: More keys for metrics.json (e.g. the trade-off rows).
        solved: A plan already computed for these options and its seconds (from --tradeoff).
        on_plan: Called with the plan and its metrics before printing (e.g. to store a scenario).

    Returns:
        The exit code: 0 when the plan keeps every hard rule; ``EXIT_PARTIAL`` when it
        breaks some for a reason its notes give (capacity or industries the instance
        lacks, time out); ``EXIT_INVALID_PLAN`` otherwise (a planner bug).
    """
    from territory.planner import HARD_KINDS, plan_report, write_plan
    from territory.planner import plan as make_plan

    console = console or Console()
    console.print(
        f"Planning {len(instance.accounts)} accounts across {len(instance.reps)} reps "
        f"(tolerance {options.tolerance:.0%}, reach {options.reach}, solver time limit {options.time_limit:.1f}s)"
    )
    started = time.perf_counter()
    if solved is None:
        plan = make_plan(instance, options, progress=progress_printer(console, started))
        seconds = time.perf_counter() - started
    else:
        plan, seconds = solved
    metrics = plan_report(instance, options, plan, seconds)
    metrics.update(extra or {})
    if baseline == "greedy":
        base_started = time.perf_counter()
        base = make_plan(instance, replace(options, solver="greedy"))
        metrics["baseline_greedy"] = {
            key: value
            for key, value in plan_report(
                instance, options, base, time.perf_counter() - base_started
            ).items()
            if key.startswith(("after_", "moves", "travel", "price", "moved_", "tolerance_met"))
        }
    if on_plan is not None:  # before the files: the hook may correct figures (prospects are not moves)
        on_plan(plan, metrics)
    if out is not None:
        rows = write_plan(out, plan)
        console.print(f"Wrote {out} ({rows} moved accounts)")
    if json_path is not None:
        from territory.cli.shared import json_goes_to_stdout, write_json_output

        write_json_output(json_path, metrics, sort_keys=True)
        if not json_goes_to_stdout(json_path):
            console.print(f"Wrote {json_path}")
    print_summary(console, instance, plan, metrics)
    hard = [v for v in metrics["violations"] if v["kind"] in HARD_KINDS]
    if not hard:
        return 0
    explained = plan.metrics.get("status") == "BEST_EFFORT" and bool(plan.explanations)
    if explained:  # the instance lacks capacity or specialists, or the time ran out: the notes say which
        console.print(f"[yellow]The plan still breaks {len(hard)} hard rule(s); the notes above say why and "
                      "what to change:[/yellow]")
    else:
        console.print(
            f"[red]The plan breaks {len(hard)} hard rule(s); this is a planner bug, please report it:[/red]"
        )
    for violation in hard[:20]:
        console.print(f"  [red]{violation['kind']}[/red] {violation['subject_id']}: {violation['detail']}")
    if len(hard) > 20:
        console.print(f"  ... and {len(hard) - 20} more (see violations in --json)")
    return EXIT_PARTIAL if explained else EXIT_INVALID_PLAN
