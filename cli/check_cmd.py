"""`territory check`: evaluate the synced book against the rules and flag conflicts in the CRM."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from territory.cli.errors import EXIT_CONFLICTS_OPEN, EXIT_PARTIAL, InputError
from territory.cli.shared import print_check_report

FLAG_COLUMNS = (
    "account_id", "account_name", "status", "current_owner_id", "current_owner_name",
    "expected_owner_id", "expected_owner_name", "assignee_id", "assignee_name",
    "already_flagged", "rule", "reason",
)
CHECK_HELP = (
    "Evaluate the synced accounts against the rules file and flag every conflict in the CRM.\n\n"
    "Each conflict (mismatch, duplicate, inactive owner, partner conflict, unassigned) becomes "
    "one task on the account, assigned to the owner's manager (else the owner), created exactly "
    "once: re-runs, restarts and crashes never duplicate it; resolved conflicts get their task "
    "completed.\n\n"
    "Preview first: --dry-run lists every conflict (account, conflict, who would get the task) "
    "and writes nothing; --format csv or --json give the whole list to scripts. A run that "
    "would create more than --max-flags tasks (default TERRITORY_MAX_FLAGS, 200) writes none "
    "and exits 4; --yes lifts the cap for one run.\n\n"
    "With `auto_assign: true` in the rules file, unowned accounts the rules can place are "
    "assigned and recorded in the audit history. `territory sync` runs the same check on "
    "inbound records.\n\n"
    "Exit codes: 0 no conflict is open; 6 conflicts are open (listed, flagged or flagged "
    "before); 2 configuration or rules file error; 3 fatal CRM error; 4 nothing or not "
    "everything was written (over --max-flags, or some CRM writes failed); 5 the store is busy; "
    "1 an unexpected error (one line, the details in the log it names)."
)


def check_command(
    rules_path: Path = typer.Option(
        Path("territory.yaml"), "--rules", envvar="TERRITORY_RULES", help="Rules file (YAML)."
    ),
    account: list[str] = typer.Option(
        None, "--account", help="Check only these account ids (and those sharing their domain)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the conflicts and who would get each task; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (with every conflict under `flags`)."),
    output_format: str = typer.Option(
        "table", "--format", help="table, or csv: one row per conflict with " + ",".join(FLAG_COLUMNS) + "."
    ),
    max_flags: int | None = typer.Option(
        None, "--max-flags", min=0, help="Write nothing when more new tasks than this would be created (default TERRITORY_MAX_FLAGS, 200)."
    ),
    yes: bool = typer.Option(False, "--yes", help="Create all tasks this run, however many (lifts --max-flags)."),
    limit: int = typer.Option(50, "--limit", min=0, help="Conflicts listed in the table (0: all)."),
) -> None:
    """Check the synced book against the rules and flag conflicts in the CRM."""
    from territory.config import load_settings

    if output_format not in ("table", "csv"):
        raise InputError(f"--format {output_format!r}: use table or csv")
    settings = load_settings()
    settings.require_crm()
    cap = None if yes else (settings.territory_max_flags if max_flags is None else max_flags)
    report = run_check(settings, rules_path, account or None, dry_run=dry_run, max_flags=cap)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, default=str))
    elif output_format == "csv":
        write_flags_csv(report.flags)
    else:
        console = Console()
        print_check_report(console, report)
        if dry_run or report.capped:
            print_flags(console, report.flags, limit)
    raise typer.Exit(check_exit_code(report))


def check_exit_code(report: Any) -> int:
    """4 when something was not written, 6 while conflicts are open, else 0."""
    if report.capped or report.failures:
        return EXIT_PARTIAL
    return EXIT_CONFLICTS_OPEN if report.flags else 0


def write_flags_csv(flags: list[dict[str, Any]]) -> None:
    """Every conflict as one CSV row on stdout."""
    writer = csv.DictWriter(sys.stdout, fieldnames=FLAG_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for flag in flags:
        writer.writerow({k: ("" if v is None else v) for k, v in flag.items()})


def print_flags(console: Console, flags: list[dict[str, Any]], limit: int) -> None:
    """The conflicts as a table: account, conflict, owners, who gets the task."""
    from rich.table import Table

    shown = flags if limit == 0 else flags[:limit]
    table = Table(title=f"{len(flags):,} conflicts" + (f" (first {len(shown)})" if len(shown) < len(flags) else ""))
    for column in ("account", "conflict", "current owner", "expected owner", "task for", "flagged"):
        table.add_column(column)
    for flag in shown:
        table.add_row(
            _named(flag["account_name"], flag["account_id"]), flag["status"],
            _named(flag["current_owner_name"], flag["current_owner_id"]),
            _named(flag["expected_owner_name"], flag["expected_owner_id"]),
            _named(flag["assignee_name"], flag["assignee_id"]), "already" if flag["already_flagged"] else "new",
        )
    console.print(table)
    if len(shown) < len(flags):
        console.print(f"... and {len(flags) - len(shown):,} more: --limit 0, --format csv or --json list them all.")


def _named(name: str, record_id: str | None) -> str:
    if not record_id:
        return "-"
    return f"{name} [{record_id}]" if name else record_id


def run_check(settings: Any, rules_path: Path, account_ids: list[str] | None, *, dry_run: bool,
              max_flags: int | None = None) -> Any:
    """Open store and connector, load the rules against the synced owners, detect conflicts."""
    from territory.cli.shared import (
        hold_store_lease,
        load_rules_or_exit,
        open_configured_store,
        store_rep_source,
    )
    from territory.connector.factory import build_connector
    from territory.sync.conflicts import detect_conflicts

    settings.require_crm()
    reps = store_rep_source()
    if reps is None:
        raise InputError("the store holds no owners yet: run `territory sync` first.")
    rule_config = load_rules_or_exit(rules_path, reps)
    store = open_configured_store(settings.territory_db_url)
    with hold_store_lease(store, settings, needed=not dry_run):
        return detect_conflicts(
            store, build_connector(settings), rule_config, changed_ids=account_ids, dry_run=dry_run,
            max_flags=max_flags,
        )


def register(app: typer.Typer) -> None:
    """Attach `territory check`."""
    app.command("check", help=CHECK_HELP)(check_command)
