"""`territory report`: the quarterly territory health review as one HTML page (and JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from territory.cli.errors import InputError

if TYPE_CHECKING:  # loaded inside the command, so --help stays fast
    from territory.sync.report import Report
    from territory.sync.report.files import ReportRequest

REPORT_HELP = (
    "Write the quarterly territory health report: one self-contained HTML page (opens offline, "
    "prints on A4 landscape) and, with --json, every figure it shows.\n\n"
    "Per rep and territory: accounts, potential, workload against capacity (coverable accounts, "
    "overload), balance against the team mean (flag > 20%, target 5%), territory size (80-120 "
    "active prospects, 15-25 qualified opportunities), pipeline coverage against quota (flag < 3x), "
    "win rate and days to close by segment over the last four quarters, open rule conflicts with "
    "links to the CRM, untapped market potential per territory once a prospect list is imported "
    "(`territory market import`), and with --scenario a before/after of a saved plan.\n\n"
    "From the synced store by default (TERRITORY_CRM, TERRITORY_DB_URL, the rules file); without a "
    "CRM from the planner's CSV contracts with --accounts and --reps. --reps in store mode is an "
    "overlay: columns id and any of quota, territory_since (ISO date), capacity.\n\n"
    "Every JSON key and threshold: docs/report.md. Exit codes: 0 written, 2 configuration or input error."
)


def report_command(
    scenario: str | None = typer.Option(None, "--scenario", help="Saved scenario to show before/after."),
    out: Path = typer.Option(Path("report.html"), "--out", help="HTML file to write."),
    json_path: Path | None = typer.Option(None, "--json", help="Also write every figure as JSON here ('-': standard output)."),
    quarter: str | None = typer.Option(None, "--quarter", help="Quarter to review, e.g. 2026Q4 (default: now)."),
    accounts: Path | None = typer.Option(None, "--accounts", help="accounts.csv (planner contract): no store."),
    reps: Path | None = typer.Option(None, "--reps", help="reps.csv: planner contract with --accounts, else overlay."),
    rules_path: Path | None = typer.Option(None, "--rules", help="Rules file (default TERRITORY_RULES)."),
) -> None:
    """Write the territory health report."""
    from territory.cli.plan_output import make_console
    from territory.cli.shared import json_goes_to_stdout, write_json_output
    from territory.rules.health import Quarter
    from territory.sync.report import ReportInputError, read_rep_overlay
    from territory.sync.report.files import ReportRequest

    to_stdout = json_goes_to_stdout(json_path)
    console = make_console(stderr=to_stdout)
    try:
        request = ReportRequest(out=out, json_path=None if to_stdout else json_path, scenario=scenario,
                                quarter=Quarter.parse(quarter) if quarter else None,
                                overlay=read_rep_overlay(reps if accounts is None else None))
        with console.status("Building the report (figures, charts, page)…"):
            report = _csv_report(accounts, reps, request) if accounts else _store_report(rules_path, request)
    except (ReportInputError, ValueError) as exc:
        raise InputError(str(exc)) from None
    if to_stdout:
        write_json_output("-", report.figures)
    size = out.stat().st_size
    also = f" and {json_path}" if json_path and not to_stdout else ""
    console.print(f"Wrote {out} ({size / 1024:,.0f} KB){also}.")
    console.print(report.figures["summary"]["text"], soft_wrap=True, highlight=False, markup=False)
    if report.figures["quota_note"]:
        console.print(f"note: {report.figures['quota_note']}", style="yellow", soft_wrap=True, highlight=False,
                      markup=False)


def _store_report(rules_path: Path | None, request: ReportRequest) -> Report:
    from territory import rules
    from territory.cli.shared import load_rules_or_exit, open_configured_store
    from territory.config import SettingsError, load_settings
    from territory.sync.report.files import store_report

    settings = load_settings()
    crm = settings.territory_crm
    if crm is None:
        raise SettingsError("TERRITORY_CRM", "not set: set it to salesforce or hubspot (or pass --accounts and --reps)")
    path = rules_path or settings.territory_rules
    found = path.exists()
    rule_config = load_rules_or_exit(path) if found else rules.parse_rules("version: 1\n")
    store = open_configured_store(settings.territory_db_url)
    return store_report(store, settings, crm, rule_config, request, rules_found=found)


def _csv_report(accounts: Path, reps: Path | None, request: ReportRequest) -> Report:
    from territory import rules
    from territory.config import load_settings
    from territory.sync.report import build_report, load_csv_input
    from territory.sync.report.files import current_quarter, write_report

    if reps is None:
        raise InputError("--accounts needs --reps (reps.csv: id,name,lat,lon,capacity,active,industries[,quota])")
    if request.scenario:
        raise InputError("--scenario reads the store: leave out --accounts to use it")
    settings = load_settings()
    data = load_csv_input(accounts, reps, overlay=request.overlay,
                          default_capacity=rules.parse_rules("version: 1\n").coverage.capacity_per_rep)
    report = build_report(data, request.quarter or current_quarter(), currency=settings.territory_currency)
    write_report(report, request)
    return report


def register(app: typer.Typer) -> None:
    """Attach `territory report`."""
    app.command("report", help=REPORT_HELP)(report_command)
