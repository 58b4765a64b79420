"""Store-backed planning: `territory plan` without --accounts, and `territory scenarios`.

The instance comes from the synced store (potential and workload from the rules file's
coverage math, locks from grandfathering and named accounts); each plan is saved as a named
scenario so admins can compare what-ifs (tolerance 5% vs 10%, with or without a new hire).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from territory.cli.errors import InputError

if TYPE_CHECKING:  # loaded inside the commands, so --help stays fast
    from territory.planner.instance import Instance, Plan, PlanOptions, PlanRep

SCENARIO_KEYS = (
    "moves", "moved_potential_share", "after_max_deviation_potential",
    "after_max_deviation_workload", "travel_after", "solver_status",
)


def default_scenario_name(options: PlanOptions) -> str:
    """e.g. ``plan-20261126-0915-tol5``: unique per minute and readable."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"plan-{stamp}-tol{options.tolerance * 100:g}"


def load_store_instance(
    console: Console, rules_path: Path, reps_overlay: Path | None, file_options: Any = None
) -> tuple[Any, Instance]:
    """Open the configured store and build the planner instance from the synced book
    (``file_options``: how the --reps file is written, a ``ReadOptions``; None: detected)."""
    from territory.cli.shared import load_rules_or_exit, open_configured_store, print_read_report
    from territory.config import load_settings
    from territory.planner.csv_io import PlanInputError, read_reps
    from territory.rules.text_files import ReadReport
    from territory.sync.planning import build_store_instance

    settings = load_settings()
    crm = settings.require_crm()
    store = open_configured_store(settings.territory_db_url)
    rule_config = load_rules_or_exit(rules_path)
    overlay: dict[str, PlanRep] = {}
    if reps_overlay is not None:
        try:
            report = ReadReport()
            overlay = {rep.id: rep for rep in read_reps(reps_overlay, options=file_options, report=report)}
        except PlanInputError as exc:
            raise InputError(str(exc)) from None
        print_read_report(report)
    try:
        built = build_store_instance(store, crm, rule_config, overlay)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    console.print(f"Planning from the synced {crm} store ({store.url}) with rules {rules_path}")
    for note in built.notes:
        console.print(f"  note: {note}")
    return store, built.instance


def scenario_saver(
    console: Console, store: Any, name: str, options: PlanOptions
) -> Callable[[Plan, dict[str, Any]], None]:
    """An ``on_plan`` hook for ``run_plan`` that stores the plan as scenario ``name``."""
    from territory.cli.shared import hold_store_lease
    from territory.sync.scenarios import MoveInput

    if store.scenarios.get(name) is not None:
        raise InputError(f"scenario {name!r} exists already: pass another --scenario name")

    def save(plan: Plan, metrics: dict[str, Any]) -> None:
        moves = [MoveInput(m.account_id, m.from_owner_id, m.to_owner_id, m.reason) for m in plan.moves]
        with hold_store_lease(store):  # only while saving: planning may take minutes
            store.scenarios.save(name, options.__dict__, json.loads(json.dumps(metrics, default=str)), moves)
        console.print(f"Saved scenario {name!r} ({len(moves)} proposed moves) in the store.")

    return save


scenarios_app = typer.Typer(
    help="Saved plans (scenarios) in the store: list them side by side, show one's moves.",
    no_args_is_help=True,
)


@scenarios_app.command("list")
def list_command(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Compare saved scenarios: moves, balance, travel, solver status."""
    store = _store()
    rows = []
    for name in store.scenarios.names():
        scenario, moves = store.scenarios.get(name)
        metrics = scenario.metrics or {}
        rows.append({"name": name, "created_at": str(scenario.created_at),
                     "tolerance": (scenario.options or {}).get("tolerance"),
                     **{key: metrics.get(key) for key in SCENARIO_KEYS}})
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    from territory.cli.plan_output import make_console

    table = Table(title="Scenarios")
    for label, _, style in LIST_COLUMNS:
        table.add_column(label, justify="left" if style in ("text", "minute") else "right")
    for row in rows:
        table.add_row(*(_shown(row.get(key), style) for _, key, style in LIST_COLUMNS))
    make_console().print(table)


SHOW_COLUMNS = ("account_id", "from_owner_id", "to_owner_id", "status", "reason")


@scenarios_app.command("show")
def show_command(
    name: str = typer.Argument(..., help="Scenario name (see `territory scenarios list`)."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    output_format: str = typer.Option(
        "table", "--format", help=f"table or csv (columns: {','.join(SHOW_COLUMNS)}; full ids, for spreadsheets)."),
) -> None:
    """The moves of one scenario with their reasons and approval status (ids in full)."""
    if output_format not in ("table", "csv"):
        raise InputError(f"--format must be table or csv, not {output_format!r}")
    found = _store().scenarios.get(name)
    if found is None:
        raise InputError(f"no scenario {name!r}: see `territory scenarios list`")
    _, moves = found
    rows = [{"account_id": m.account_id, "from_owner_id": m.from_owner_id, "to_owner_id": m.to_owner_id,
             "status": m.status, "reason": m.reason} for m in moves]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if output_format == "csv":
        import csv
        import sys

        writer = csv.DictWriter(sys.stdout, fieldnames=SHOW_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    table = Table(title=f"Scenario {name}: {len(rows)} moves")
    for column in SHOW_COLUMNS:  # ids never fold or shorten; the reason wraps
        table.add_column(column, no_wrap=column != "reason", overflow="fold" if column == "reason" else "ignore")
    for row in rows:
        table.add_row(*(_cell(row[c]) for c in SHOW_COLUMNS))
    console = Console()
    (console if console.is_terminal else Console(width=max(120, _widest(rows) + 60))).print(table)


def _widest(rows: list[dict[str, Any]]) -> int:
    """Width the three id columns and the status need side by side."""
    ids = ("account_id", "from_owner_id", "to_owner_id", "status")
    return sum(max([len(c)] + [len(str(r[c] or "")) for r in rows]) + 3 for c in ids)


def _store() -> Any:
    from territory.cli.shared import open_existing_store
    from territory.config import load_settings

    return open_existing_store(load_settings().territory_db_url)  # reading: no new empty database


# (header, key in the JSON rows, how to show it) for the `scenarios list` table
LIST_COLUMNS = (
    ("name", "name", "text"), ("created (UTC)", "created_at", "minute"), ("tol.", "tolerance", "percent"),
    ("moves", "moves", "count"), ("moved pot.", "moved_potential_share", "percent"),
    ("max dev. P", "after_max_deviation_potential", "percent"),
    ("max dev. W", "after_max_deviation_workload", "percent"),
    ("travel", "travel_after", "count"), ("status", "solver_status", "text"),
)


def _shown(value: Any, style: str) -> str:
    """A scenario figure as people read it (the --json rows keep the raw values)."""
    if value is None:
        return "-"
    if style == "percent" and isinstance(value, (int, float)):
        return f"{value:.1%}"
    if style == "count" and isinstance(value, (int, float)):
        return f"{value:,.0f}"
    if style == "minute":
        return str(value)[:16]
    return str(value)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def register(app: typer.Typer) -> None:
    """Attach `territory scenarios`."""
    app.add_typer(scenarios_app, name="scenarios")
