"""`territory check`: evaluate the synced book against the rules and flag conflicts in the CRM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from territory.cli.errors import EXIT_PARTIAL, InputError
from territory.cli.shared import print_check_report

CHECK_HELP = (
    "Evaluate the synced accounts against the rules file and flag every conflict in the CRM.\n\n"
    "Each conflict (mismatch, duplicate, inactive owner, partner conflict, unassigned) becomes "
    "one task on the account, assigned to the owner's manager (else the owner), created exactly "
    "once: re-runs, restarts and crashes never duplicate it; resolved conflicts get their task "
    "completed.\n\n"
    "With `auto_assign: true` in the rules file, unowned accounts the rules can place are "
    "assigned and recorded in the audit history. `territory sync` runs the same check on "
    "inbound records. Use --dry-run to see the conflicts without writing anything."
)


def check_command(
    rules_path: Path = typer.Option(
        Path("territory.yaml"), "--rules", envvar="TERRITORY_RULES", help="Rules file (YAML)."
    ),
    account: list[str] = typer.Option(
        None, "--account", help="Check only these account ids (and those sharing their domain)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report conflicts; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check the synced book against the rules and flag conflicts in the CRM."""
    from territory.config import load_settings

    settings = load_settings()
    settings.require_crm()
    report = run_check(settings, rules_path, account or None, dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        print_check_report(Console(), report)
    if report.failures:
        raise typer.Exit(EXIT_PARTIAL)


def run_check(settings: Any, rules_path: Path, account_ids: list[str] | None, *, dry_run: bool) -> Any:
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
            store, build_connector(settings), rule_config, changed_ids=account_ids, dry_run=dry_run
        )


def register(app: typer.Typer) -> None:
    """Attach `territory check`."""
    app.command("check", help=CHECK_HELP)(check_command)
