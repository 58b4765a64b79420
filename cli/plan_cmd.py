"""`territory plan`: balanced, low-disruption territories from CSV files or the synced store.

The command only parses, calls and prints: the instance comes from CSV files or the store,
``territory.planner.plan`` makes and validates the plan, ``cli.plan_output.run_plan`` writes
and prints it.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from territory.cli.errors import EXIT_CONFIG, InputError
from territory.cli.plan_output import make_console, run_plan
from territory.cli.shared import (
    DecimalOption,
    DelimiterOption,
    EncodingOption,
    json_goes_to_stdout,
    read_options,
    read_planner_file,
    write_json_output,
)

if TYPE_CHECKING:  # the planner (numpy, HiGHS, OR-Tools) loads when a plan is made
    from territory.planner.instance import Instance, Plan


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.command("plan")(plan_command)


def plan_command(
    accounts: Annotated[
        Path | None,
        typer.Option(
            "--accounts",
            help="accounts.csv columns: id, name, owner_id, lat, lon, potential, workload, locked, industry; optional "
            "visit_mode (field, remote, hybrid; empty = field) and postal_code (for --travel-times keyed by "
            "postal code).",
        ),
    ] = None,
    reps: Annotated[
        Path | None,
        typer.Option(
            "--reps",
            help="reps.csv columns: id, name, lat, lon, capacity, active, industries; optional target_weight (empty = 1) and "
            "mode (field, inside; inside reps take remote accounts only). Planning from the store, a homes "
            "file with id, lat, lon (and any of the other columns) overrides the synced reps.",
        ),
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
        typer.Option("--json", help="Write metrics (balance, moves, travel, bounds, timings) as JSON here ('-': standard output)."),
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
    travel_times: Annotated[
        Path | None,
        typer.Option(
            "--travel-times",
            help="Drive times from your routing engine (OSRM, Valhalla, a maps API), columns rep_id, account_id, "
            "minutes or rep_id, postal_code, minutes. They replace the estimate in the plan and the report; accounts "
            "it lacks use the estimate and are counted in a note.",
        ),
    ] = None,
    road_factor: Annotated[
        float | None,
        typer.Option("--road-factor", min=1.0, help="Travel estimate: road km per great-circle km (default 1.3)."),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option("--speed", min=1.0, help="Travel estimate: average driving speed in km/h (default 60)."),
    ] = None,
    encoding: EncodingOption = None,
    delimiter: DelimiterOption = None,
    decimal: DecimalOption = None,
    # market data (issue 15): plan on the whole market, see cli/plan_store.py
    include_prospects: Annotated[
        bool,
        typer.Option("--include-prospects",
                     help="Store mode: also place the whitespace prospects of the imported market lists (unmatched "
                     "to CRM accounts) as unowned accounts, so balance covers potential the CRM does not hold yet; "
                     "placing one is not a move. `territory market push --scenario NAME` creates them in the CRM."),
    ] = False,
    prospect_source: Annotated[
        str | None,
        typer.Option("--source", help="With --include-prospects: only this market source (default: every source)."),
    ] = None,
) -> None:
    """Plan balanced territories with the fewest moves, then the least travel.

    Hard rules: every account gets one active owner, locked accounts stay, capacity and industries hold, inactive reps end empty.

    Balance: each active rep's potential and workload within --tolerance of its target; if that cannot be met, the plan is the best achievable and the output explains what binds.

    Without --accounts the plan is built from the synced store (run `territory sync` first): potential and workload come from the rules file's coverage math, accounts with open opportunities are locked when grandfathering is on, --reps optionally gives home locations, capacities and industries, and the plan is saved as a named --scenario (compare them with `territory scenarios list`).

    The CSVs may come from Excel or a CRM export: UTF-8 (with or without byte-order mark), UTF-16 ("Unicode text") or cp1252, separated by , ; or tabs, with decimal commas; they are read exactly as `territory rules evaluate` reads them, and what was assumed is said on stderr.

    Exit codes: 0 ok (the tolerance may still be out of reach: see the notes), 2 bad input (the message names file, line and problem), 4 the plan still breaks a hard rule for a reason the notes give (capacity or specialists the instance lacks, time limit too short).
    """
    from territory.planner.instance import SOLVERS, PlanOptions

    command_started = time.perf_counter()
    console = make_console(stderr=json_goes_to_stdout(json_path))
    try:
        if solver not in SOLVERS or (baseline is not None and baseline != "greedy"):
            raise InputError(f"--solver must be one of {', '.join(SOLVERS)} and --baseline must be 'greedy'")
        tolerances = _parse_tolerances(tradeoff_tolerances) if tradeoff else []
        options = PlanOptions(tolerance=tolerance, reach=reach, time_limit=time_limit, seed=seed, solver=solver)
        on_plan = None
        file_options = read_options(encoding, delimiter, decimal)
        if accounts is None:
            from territory.cli.plan_store import (
                default_scenario_name,
                load_store_instance,
                scenario_saver,
            )

            store, instance, prospects = load_store_instance(
                console, rules_path, reps, file_options, include_prospects=include_prospects, source=prospect_source)
            name = scenario or default_scenario_name(options)
            on_plan = scenario_saver(console, store, name, options, prospects)
        else:
            if include_prospects or prospect_source:
                raise InputError("--include-prospects and --source plan from the store: leave out --accounts")
            if out is None and not tradeoff:
                raise InputError("--out is required (where to write plan.csv), unless you only want --tradeoff")
            instance = load_csv_instance(accounts, reps, file_options)
        instance = with_travel(console, instance, travel_times, road_factor, speed, file_options)
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

        extra["tradeoff"] = print_tradeoff(console, instance, options, tolerances, solved)
        if out is None:
            if json_path is not None:
                write_json_output(json_path, extra, sort_keys=True)
            return
    code = run_plan(
        instance,
        options,
        out,
        json_path,
        console=console,
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
    from territory.planner.csv_io import read_instance

    return read_planner_file(lambda report: read_instance(accounts, reps, options=file_options, report=report))


def with_travel(
    console: Any, instance: Instance, path: Path | None, road_factor: float | None, speed: float | None,
    file_options: Any = None,
) -> Instance:
    """The instance measuring travel with these estimate settings (None: the planner's
    defaults) and, when given, the drive-time file at ``path`` (problems become an InputError
    naming file and line)."""
    from territory.planner.travel_csv import read_travel_times, with_travel_times

    settings = {"road_factor": road_factor, "speed_kmh": speed}
    travel = replace(instance.travel, **{key: value for key, value in settings.items() if value is not None})
    instance = replace(instance, travel=travel)
    if path is None:
        return instance
    drive = read_planner_file(lambda report: read_travel_times(path, instance, options=file_options, report=report))
    for note in drive.notes(path):
        console.print(f"  note: {note}")
    return with_travel_times(instance, drive)


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
