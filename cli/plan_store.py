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
    from territory.planner.instance import Instance, Plan, PlanOptions

SCENARIO_KEYS = (
    "moves", "moved_potential_share", "after_max_deviation_potential",
    "after_max_deviation_workload", "travel_after", "travel_minutes_per_visit_before",
    "travel_minutes_per_visit_after", "solver_status", "prospects_placed",
)


def default_scenario_name(options: PlanOptions) -> str:
    """e.g. ``plan-20261126-0915-tol5``: unique per minute and readable."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"plan-{stamp}-tol{options.tolerance * 100:g}"


def load_store_instance(
    console: Console, rules_path: Path, reps_overlay: Path | None, file_options: Any = None,
    *, include_prospects: bool = False, source: str | None = None,
) -> tuple[Any, Instance, dict[str, Any]]:
    """Open the configured store and build the planner instance from the synced book
    (``file_options``: how the --reps file is written, a ``ReadOptions``; None: detected).
    Returns the store, the instance and the whitespace prospects in it by planner id
    (``include_prospects``: of market source ``source``, or of every source)."""
    from territory.cli.shared import load_rules_or_exit, open_configured_store, read_planner_file
    from territory.config import load_settings
    from territory.planner.csv_io import RepOverride, read_rep_overrides
    from territory.sync.planning import build_store_instance

    settings = load_settings()
    crm = settings.require_crm()
    store = open_configured_store(settings.territory_db_url)
    rule_config = load_rules_or_exit(rules_path)
    overlay: dict[str, RepOverride] = {}
    if reps_overlay is not None:
        overlay = read_planner_file(lambda report: read_rep_overrides(reps_overlay, options=file_options, report=report))
    try:
        built = build_store_instance(store, crm, rule_config, overlay,
                                     include_prospects=include_prospects, source=source)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    console.print(f"Planning from the synced {crm} store ({store.url}) with rules {rules_path}")
    for note in built.notes:
        console.print(f"  note: {note}")
    return store, built.instance, built.prospects


def scenario_saver(
    console: Console, store: Any, name: str, options: PlanOptions, prospects: dict[str, Any] | None = None
) -> Callable[[Plan, dict[str, Any]], None]:
    """An ``on_plan`` hook for ``run_plan`` that stores the plan as scenario ``name``.

    ``prospects`` (planner id -> whitespace prospect) are stored as placements, apart from
    the CRM moves, and left out of the move figures (placing a prospect is not a move).
    """
    from territory.cli.shared import hold_store_lease
    from territory.sync.scenarios import MoveInput, PlacementInput

    if store.scenarios.get(name) is not None:
        raise InputError(f"scenario {name!r} exists already: pass another --scenario name")
    prospects = prospects or {}

    def save(plan: Plan, metrics: dict[str, Any]) -> None:
        moves = [MoveInput(m.account_id, m.from_owner_id, m.to_owner_id, m.reason)
                 for m in plan.moves if m.account_id not in prospects]
        placements = [PlacementInput(p.source, p.key, p.name, plan.assignment[plan_id], p.territory_id,
                                     p.potential, p.workload) for plan_id, p in prospects.items()]
        if prospects:
            count_crm_moves_only(metrics, plan, prospects)
        with hold_store_lease(store):  # only while saving: planning may take minutes
            store.scenarios.save(name, {**options.__dict__, "include_prospects": bool(prospects)},
                                 json.loads(json.dumps(metrics, default=str)), moves, placements)
        placed = f" and {len(placements)} prospect placements (`territory market push --scenario {name}`)" if placements else ""
        console.print(f"Saved scenario {name!r} ({len(moves)} proposed moves{placed}) in the store.")

    return save


def count_crm_moves_only(metrics: dict[str, Any], plan: Plan, prospects: dict[str, Any]) -> None:
    """Make the move figures count CRM accounts only and add the prospect figures."""
    crm_moves = [m for m in plan.moves if m.account_id not in prospects]
    placed_potential = sum(p.potential for p in prospects.values())
    moved_potential = float(metrics.get("moved_potential") or 0.0)
    crm_potential = moved_potential - placed_potential
    share = float(metrics.get("moved_potential_share") or 0.0)
    crm_total = (moved_potential / share if share > 0 else 0.0) - placed_potential
    metrics.update(moves=len(crm_moves), moved_potential=max(0.0, crm_potential),
                   moved_potential_share=max(0.0, crm_potential) / crm_total if crm_total > 0 else 0.0,
                   prospects_placed=len(prospects), prospect_potential=placed_potential)
    bound = metrics.get("lp_lower_bound_moves")
    if isinstance(bound, (int, float)):  # every prospect counted in the bound as a forced move
        bound = metrics["lp_lower_bound_moves"] = max(0.0, bound - len(prospects))
        gap = len(crm_moves) / bound - 1.0 if bound > 0 else (0.0 if not crm_moves else None)
        metrics.update(gap=gap, moves_gap=gap)


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
    """The moves of one scenario with their reasons and approval status: reps and accounts by
    name with their full ids (the --json rows and --format csv keep the ids only)."""
    if output_format not in ("table", "csv"):
        raise InputError(f"--format must be table or csv, not {output_format!r}")
    store = _store()
    found = store.scenarios.get(name)
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
    names = _people(store, "owners")
    accounts = _people(store, "accounts")
    table = Table(title=f"Scenario {name}: {len(rows)} moves")
    for column in ("account", "from", "to", "status", "reason"):  # ids never fold; the reason wraps
        table.add_column(column, no_wrap=column != "reason", overflow="fold" if column == "reason" else "ignore")
    shown = [(_named(accounts, row["account_id"]), _named(names, row["from_owner_id"]),
              _named(names, row["to_owner_id"]), _cell(row["status"]), _cell(row["reason"])) for row in rows]
    for cells in shown:
        table.add_row(*cells)
    console = Console()
    widest = sum(max([0] + [len(cells[i]) for cells in shown]) + 3 for i in range(4))
    (console if console.is_terminal else Console(width=max(120, widest + 60))).print(table)
    placed = store.scenarios.placements(name)
    if placed:  # market prospects the plan placed: not moves, created by `territory market push`
        console.print(f"{len(placed)} market prospects placed (potential {sum(p.potential for p in placed):,.0f}); "
                      f"create them in the CRM with `territory market push --scenario {name}`")


def _people(store: Any, kind: str) -> dict[str, str]:
    """Id -> name of the synced owners or accounts (any CRM; deleted ones too, for old scenarios)."""
    return {str(r["id"]): str(r["name"]) for r in store.iter_records(kind, include_deleted=True) if r["name"]}


def _named(names: dict[str, str], record_id: str | None) -> str:
    """'Anna Berg (005A1)' when the name is known, else the id; '-' for none."""
    if not record_id:
        return "-"
    name = names.get(record_id)
    return f"{name} ({record_id})" if name else record_id


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
    ("travel", "travel_after", "count"), ("min/visit", "travel_minutes_per_visit_after", "minutes"),
    ("status", "solver_status", "text"),
)


def _shown(value: Any, style: str) -> str:
    """A scenario figure as people read it (the --json rows keep the raw values)."""
    if value is None:
        return "-"
    if style == "percent" and isinstance(value, (int, float)):
        return f"{value:.1%}"
    if style == "count" and isinstance(value, (int, float)):
        return f"{value:,.0f}"
    if style == "minutes" and isinstance(value, (int, float)):
        return f"{value:.1f}"
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
