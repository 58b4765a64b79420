"""`territory plan`: balanced, low-disruption territories from CSV files or the synced store.

The command only parses and prints. The pieces are separate so a store-backed mode can reuse
them: load an :class:`~planner.instance.Instance` any way you like, then call :func:`run_plan`.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable
from dataclasses import asdict, is_dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from territory.cli.errors import EXIT_CONFIG, EXIT_PARTIAL, InputError
from territory.cli.plan_output import make_console, print_summary, progress_printer
from territory.cli.shared import DecimalOption, DelimiterOption, EncodingOption, read_options

if TYPE_CHECKING:  # the planner (numpy, HiGHS, OR-Tools) loads when a plan is made
    from territory.planner.instance import Instance, Plan, PlanOptions

EXIT_INVALID_PLAN = 1  # a plan that breaks a hard rule is a planner bug; say so loudly
SOLVERS = ("auto", "greedy")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.command("plan")(plan_command)


def plan_command(
    accounts: Annotated[
        Path | None,
        typer.Option(
            "--accounts", help="accounts.csv: id,name,owner_id,lat,lon,potential,workload,locked,industry"
        ),
    ] = None,
    reps: Annotated[
        Path | None,
        typer.Option("--reps", help="reps.csv: id,name,lat,lon,capacity,active,industries[,target_weight]"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write plan.csv here: one row per moved account with the reason."),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance",
            min=0.0,
            help="Allowed relative deviation from target for potential and workload (0.05 = 5%).",
        ),
    ] = 0.05,
    reach: Annotated[
        int,
        typer.Option(
            "--reach",
            min=1,
            help="An account may move only to its K nearest eligible active reps (widened where balance needs it).",
        ),
    ] = 10,
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit",
            min=0.1,
            help="Time budget in seconds for the whole command: loading, solving and writing "
            "(with --tradeoff: for each plan).",
        ),
    ] = 60.0,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Write metrics (balance, moves, travel, bounds, timings) as JSON here."),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(
            "--seed",
            help="Random seed: the same seed and inputs give the same plan whenever the search "
            "finishes before --time-limit (search_converged in the metrics).",
        ),
    ] = 0,
    tradeoff: Annotated[
        bool,
        typer.Option(
            "--tradeoff",
            help="Print moves, travel and max deviation for several tolerances (the price of balance).",
        ),
    ] = False,
    tradeoff_tolerances: Annotated[
        str, typer.Option("--tradeoff-tolerances", help="Comma-separated tolerances for --tradeoff.")
    ] = "0.05,0.1,0.2",
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="Also run a baseline for comparison: 'greedy'.")
    ] = None,
    solver: Annotated[
        str, typer.Option("--solver", help="'auto' (CP-SAT planner when available) or 'greedy'.")
    ] = "auto",
    rules_path: Annotated[
        Path,
        typer.Option("--rules", envvar="TERRITORY_RULES",
                     help="Store mode (no --accounts): rules file defining potential, workload tiers and locks."),
    ] = Path("territory.yaml"),
    scenario: Annotated[
        str | None,
        typer.Option("--scenario", help="Store mode: save the plan under this scenario name (default: a timestamped one)."),
    ] = None,
    encoding: EncodingOption = None,
    delimiter: DelimiterOption = None,
    decimal: DecimalOption = None,
) -> None:
    """Plan balanced territories with the fewest moves, then the least travel.

    Hard rules: every account gets one active owner, locked accounts stay, capacity and industries hold, inactive reps end empty.

    Balance: each active rep's potential and workload within --tolerance of its target; if that cannot be met, the plan is the best achievable and the output explains what binds.

    Without --accounts the plan is built from the synced store (run `territory sync` first): potential and workload come from the rules file's coverage math, accounts with open opportunities are locked when grandfathering is on, --reps optionally gives home locations, capacities and industries, and the plan is saved as a named --scenario (compare them with `territory scenarios list`).

    The CSVs may come from Excel or a CRM export: UTF-8 (with or without byte-order mark), UTF-16 ("Unicode text") or cp1252, separated by , ; or tabs, with decimal commas; they are read exactly as `territory rules evaluate` reads them, and what was assumed is said on stderr.

    Exit codes: 0 ok (the tolerance may still be out of reach: see the notes), 2 bad input (the message names file, line and problem), 4 the plan still breaks a hard rule for a reason the notes give (capacity or specialists the instance lacks, time limit too short).
    """
    from territory.planner.instance import PlanOptions

    command_started = time.perf_counter()
    console = make_console()
    try:
        if solver not in SOLVERS or (baseline is not None and baseline != "greedy"):
            raise InputError(f"--solver must be one of {', '.join(SOLVERS)} and --baseline must be 'greedy'")
        tolerances = _parse_tolerances(tradeoff_tolerances) if tradeoff else []
        options = PlanOptions(tolerance=tolerance, reach=reach, time_limit=time_limit, seed=seed)
        on_plan = None
        file_options = read_options(encoding, delimiter, decimal)
        if accounts is None:
            from territory.cli.plan_store import (
                default_scenario_name,
                load_store_instance,
                scenario_saver,
            )

            store, instance = load_store_instance(console, rules_path, reps, file_options)
            name = scenario or default_scenario_name(options)
            on_plan = scenario_saver(console, store, name, options)
        else:
            if out is None and not tradeoff:
                raise InputError("--out is required (where to write plan.csv), unless you only want --tradeoff")
            instance = load_csv_instance(accounts, reps, file_options)
    except InputError as exc:
        typer.secho(f"Input error: {exc}", err=True, fg="red")
        raise typer.Exit(EXIT_CONFIG) from None
    if not tradeoff:
        budget = solver_budget(time_limit, time.perf_counter() - command_started, len(instance.accounts))
        options = replace(options, time_limit=budget)
    extra: dict[str, Any] = {}
    solved: dict[float, tuple[Plan, float]] = {}
    if tradeoff:
        from territory.cli.plan_tradeoff import print_tradeoff

        extra["tradeoff"] = print_tradeoff(console, instance, options, tolerances, solver, solved)
        if out is None:
            if json_path is not None:
                json_path.write_text(json.dumps(extra, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            return
    code = run_plan(
        instance,
        options,
        out,
        json_path,
        console=console,
        solver=solver,
        baseline=baseline,
        extra=extra,
        solved=solved.get(tolerance),
        on_plan=on_plan,
    )
    if code:
        raise typer.Exit(code)


STARTUP_RESERVE_S = 2.0  # interpreter start and imports happen before the command runs
OUTPUT_RESERVE_S_PER_ACCOUNT = 2e-5  # validation, metrics, plan.csv and the summary


def solver_budget(time_limit: float, spent: float, accounts: int) -> float:
    """What is left of the command's --time-limit for the solver after loading and the output."""
    reserve = STARTUP_RESERVE_S + OUTPUT_RESERVE_S_PER_ACCOUNT * accounts
    return max(min(1.0, time_limit), time_limit - spent - reserve)


def load_csv_instance(accounts: Path | None, reps: Path | None, file_options: Any = None) -> Instance:
    """Read the two CSV files (``file_options``: a ``ReadOptions``, None: detect); notes go to
    stderr and any problem becomes an InputError naming file, line and fix."""
    if accounts is None or reps is None:
        raise InputError("--accounts and --reps are both required for CSV planning")
    from territory.cli.shared import print_read_report
    from territory.planner.csv_io import PlanInputError, read_instance
    from territory.rules.text_files import ReadReport

    report = ReadReport()
    try:
        instance = read_instance(accounts, reps, options=file_options, report=report)
    except PlanInputError as exc:
        raise InputError(str(exc)) from None
    print_read_report(report)
    return instance


def _parse_tolerances(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(
            f"--tradeoff-tolerances must be comma-separated numbers like 0.05,0.1,0.2, got {text!r}"
        ) from None
    if not values or any(v < 0 for v in values):
        raise InputError("--tradeoff-tolerances needs at least one non-negative tolerance")
    return values


def solve_plan(
    instance: Instance,
    options: PlanOptions,
    solver: str = "auto",
    progress: Callable[..., None] | None = None,
) -> Plan:
    """Run the planner: ``planner.solve.solve`` when present (and ``solver='auto'``), else greedy."""
    if solver == "auto" and importlib.util.find_spec("territory.planner.solve") is not None:
        from territory.planner.solve import solve  # lazy: pulls in OR-Tools and HiGHS

        return solve(instance, options, progress=progress)
    from territory.planner.greedy import greedy_plan

    plan = greedy_plan(instance, options, progress=progress)
    if solver == "auto":
        plan.explanations.append(
            "The CP-SAT planner is not installed in this build; this is the greedy baseline plan."
        )
    return plan


def build_metrics(
    instance: Instance, options: PlanOptions, plan: Plan, wall_seconds: float
) -> dict[str, Any]:
    """Everything metrics.json reports about a plan (solver metrics passed through)."""
    from territory.planner.metrics import plan_metrics
    from territory.planner.validate import balance_deviations, validate_plan

    metrics: dict[str, Any] = {str(key): _plain(value) for key, value in plan.metrics.items()}
    metrics.update(plan_metrics(instance, plan.assignment))
    lower = metrics.get("lp_lower_bound_moves")
    moves = int(metrics["moves"])
    metrics["lp_lower_bound_moves"] = lower
    metrics["gap"] = _gap(moves, lower)
    metrics["moves_gap"] = metrics["gap"]
    # the solving core says "status" / "phase_seconds"; the CSV contract says these names
    metrics.setdefault("solver_status", metrics.get("status", "UNKNOWN"))
    metrics.setdefault("phase_timings", metrics.get("phase_seconds", {}))
    metrics["phase_timings"] = {**metrics["phase_timings"], "total": wall_seconds}
    metrics["explanations"] = list(plan.explanations)
    metrics.setdefault("widened_accounts", [])
    violations = validate_plan(instance, options, plan.assignment)
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


def _plain(value: Any) -> Any:
    """Solver metrics as JSON-ready Python values (numpy scalars/arrays, sets, dataclasses)."""
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def run_plan(
    instance: Instance,
    options: PlanOptions,
    out: Path | None,
    json_path: Path | None,
    *,
    console: Console | None = None,
    solver: str = "auto",
    baseline: str | None = None,
    extra: dict[str, Any] | None = None,
    solved: tuple[Plan, float] | None = None,
    on_plan: Callable[[Plan, dict[str, Any]], None] | None = None,
) -> bool:
    """Solve, validate, write plan.csv / metrics.json and print the summary.

    Args:
        instance: Loaded from CSV or built from the store.
        options: Planner options.
        out: Where plan.csv goes (None: do not write).
        json_path: Where metrics.json goes (None: do not write).
        console: Rich console for progress and the summary.
        solver: 'auto' or 'greedy'.
        baseline: 'greedy' to also run and report the greedy baseline.
        extra: More keys for metrics.json (e.g. the trade-off rows).
        solved: A plan already computed for these options and its seconds (from --tradeoff).
        on_plan: Called with the plan and its metrics before printing (e.g. to store a scenario).

    Returns:
        The exit code: 0 when the plan keeps every hard rule; ``EXIT_PARTIAL`` when it
        breaks some for a reason its notes give (capacity or industries the instance
        lacks, time out); ``EXIT_INVALID_PLAN`` otherwise (a planner bug).
    """
    from territory.planner.csv_io import write_plan
    from territory.planner.greedy import greedy_plan
    from territory.planner.validate import HARD_KINDS

    console = console or Console()
    console.print(
        f"Planning {len(instance.accounts)} accounts across {len(instance.reps)} reps "
        f"(tolerance {options.tolerance:.0%}, reach {options.reach}, solver time limit {options.time_limit:.1f}s)"
    )
    started = time.perf_counter()
    if solved is None:
        plan = solve_plan(instance, options, solver, progress=progress_printer(console, started))
        seconds = time.perf_counter() - started
    else:
        plan, seconds = solved
    metrics = build_metrics(instance, options, plan, seconds)
    metrics.update(extra or {})
    if baseline == "greedy":
        base_started = time.perf_counter()
        base = greedy_plan(instance, options)
        metrics["baseline_greedy"] = {
            key: value
            for key, value in build_metrics(
                instance, options, base, time.perf_counter() - base_started
            ).items()
            if key.startswith(("after_", "moves", "travel", "price", "moved_", "tolerance_met"))
        }
    if out is not None:
        rows = write_plan(out, plan)
        console.print(f"Wrote {out} ({rows} moved accounts)")
    if json_path is not None:
        json_path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        console.print(f"Wrote {json_path}")
    if on_plan is not None:
        on_plan(plan, metrics)
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
