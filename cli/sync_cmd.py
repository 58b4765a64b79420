"""`territory sync`, `territory export` and `territory doctor`: parse, call ``sync``, print."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer
from rich.console import Console

from territory.cli.errors import EXIT_PARTIAL, InputError
from territory.cli.shared import (
    capped_message,
    open_existing_store,
    print_sync_summary,
    writing_store,
)
from territory.sync.export import EXPORT_COLUMNS

if TYPE_CHECKING:  # the heavy modules load inside the commands, so --help stays fast
    from territory.sync import KindCounts, Store, SyncSummary

STARTING = "\0starting"  # progress task shown until the first page is committed


class ExportKind(str, Enum):
    """What ``territory export`` can write."""

    accounts = "accounts"
    owners = "owners"
    opportunities = "opportunities"


class ExportFormat(str, Enum):
    """Output formats of ``territory export``."""

    csv = "csv"
    json = "json"


class _SyncProgress:
    """Live progress on a terminal; otherwise (logs, CI) a line every PRINT_EVERY records or
    PRINT_PAGES pages, whichever comes first, whatever the CRM's page size; and a line
    whenever a call is retried."""

    PRINT_EVERY = 2500
    PRINT_PAGES = 25

    def __init__(self, console: Console) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = console
        self.live = console.is_terminal
        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description:<14}"),
            TextColumn("{task.fields[fetched]:>8} fetched in {task.fields[pages]} pages"),
            TimeElapsedColumn(), console=console, transient=True,
        )
        self.tasks: dict[str, Any] = {}  # rich TaskIDs
        self.printed: dict[str, tuple[int, int]] = {}  # kind -> (fetched, pages) at the last line

    def retrying(self, error: BaseException, wait_s: float) -> None:
        """Connector observer: a call failed and is retried (the CRM's words, no record data)."""
        from territory.connector.errors import CrmError

        what = str(error).split(" Next step:")[0] if isinstance(error, CrmError) else type(error).__name__
        self.console.print(f"CRM call failed ({what}); retrying in {wait_s:.3g} s",
                           highlight=False, markup=False, soft_wrap=True)

    def __call__(self, kind: str, counts: KindCounts) -> None:
        if self.live:
            if STARTING in self.tasks:
                self.progress.remove_task(self.tasks.pop(STARTING))
            if kind not in self.tasks:
                self.tasks[kind] = self.progress.add_task(kind, total=None, fetched=0, pages=0)
            self.progress.update(self.tasks[kind], fetched=counts.fetched, pages=counts.pages)
        else:
            fetched, pages = self.printed.get(kind, (0, 0))
            if counts.fetched - fetched >= self.PRINT_EVERY or counts.pages - pages >= self.PRINT_PAGES:
                self.printed[kind] = (counts.fetched, counts.pages)
                self.console.print(f"{kind}: {counts.fetched} fetched in {counts.pages} pages")

    @contextmanager
    def running(self) -> Iterator[_SyncProgress]:
        if not self.live:
            yield self
            return
        with self.progress:
            # something moves while the first (possibly large) page is on its way
            self.tasks[STARTING] = self.progress.add_task(
                "connecting", total=None, fetched=0, pages=0
            )
            yield self


def sync_command(
    full: bool = typer.Option(
        False, "--full", help="Re-read everything instead of only changes since the last sync."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON (no progress)."),
    check: bool = typer.Option(
        True, "--check/--no-check",
        help="After the sync, check new and changed accounts against the rules file "
        "($TERRITORY_RULES or territory.yaml, if present) and flag conflicts in the CRM.",
    ),
) -> None:
    """Pull owners, accounts and opportunities from the configured CRM (see SYNC_HELP)."""
    from territory.config import load_settings
    from territory.connector import factory
    from territory.connector.errors import CrmError
    from territory.sync import run_sync
    from territory.sync.book import read_visit_modes

    settings = load_settings()
    settings.require_crm()
    with writing_store(settings) as store:
        connector = factory.build_connector(settings)
        read_visit_modes(connector, settings.territory_rules)
        progress = _SyncProgress(Console(stderr=True))
        if not as_json and hasattr(connector, "on_retry"):
            connector.on_retry = progress.retrying
        try:
            if as_json:
                summary = run_sync(connector, store, full=full)
            else:
                with progress.running():
                    summary = run_sync(connector, store, full=full, progress=progress)
            inbound = _inbound_check(store, connector, settings.territory_rules, summary) if check else None
        except CrmError:
            _explain_stop(store)
            raise
    if as_json:
        payload = summary.to_dict()
        payload["inbound_check"] = inbound.as_dict() if inbound is not None else None
        typer.echo(json.dumps(payload, indent=2, default=str))
    else:
        print_sync_summary(Console(), summary)
        _print_inbound(Console(), inbound, settings.territory_rules, check)
    if summary.is_partial or (inbound is not None and (inbound.failures or inbound.capped)):
        raise typer.Exit(EXIT_PARTIAL)


def _inbound_check(store: Store, connector: Any, rules_path: Path, summary: SyncSummary) -> Any:
    """Conflict detection on the accounts this run brought in (None without a rules file)."""
    from territory.rules import RulesFileError
    from territory.sync.conflicts import check_inbound

    changed = summary.changed_account_ids | getattr(summary, "deleted_account_ids", set())
    try:
        return check_inbound(store, connector, rules_path, changed)
    except RulesFileError as exc:
        raise InputError(
            f"the sync is stored, but the inbound check could not run: {exc}\n"
            "  Fix the rules file (`territory rules validate`) and run `territory check`."
        ) from None


def _print_inbound(console: Console, inbound: Any, rules_path: Path, check: bool) -> None:
    if not check:
        return
    if inbound is None:
        console.print(f"Inbound check skipped: no rules file at {rules_path} (see docs/rules.md).")
        return
    found = sum(inbound.conflicts.values())
    console.print(
        f"Inbound check: {inbound.evaluated} new/changed accounts evaluated, {found} conflicts; "
        f"{inbound.flagged} newly flagged in the CRM, {inbound.resolved} resolved, "
        f"{inbound.auto_assigned} auto-assigned."
    )
    if inbound.capped:
        console.print(capped_message(inbound))
    from territory.cli.shared import print_write_problems

    print_write_problems(console, inbound, shown=10)


SYNC_HELP = (
    "Pull owners, accounts and opportunities from the configured CRM into the store.\n\n"
    "The first run reads everything; later runs read only what changed since the committed "
    "cursor, including deletions. Each page is stored together with its cursor, so an "
    "interrupted run resumes where it stopped without gaps or duplicates. Settings come from "
    "the environment or .env (TERRITORY_CRM, TERRITORY_DB_URL and the CRM credentials).\n\n"
    "--full re-reads everything; records the CRM no longer has at all (purged) are then "
    "marked deleted. A record without a usable id, owner or name is skipped and listed once "
    "per version: re-read unchanged by a later run, it is shown as still unreadable but not "
    "counted again. A record with an unusable optional field (employees 'n/a') is stored with "
    "that field empty and listed as a warning. The store keeps both lists, with the run that "
    "met them, until the records are readable (--json: unreadable_records, field_warnings), "
    "so an interrupted run loses none.\n\n"
    "One writer at a time: another command holding the store waits TERRITORY_LEASE_WAIT_S "
    "seconds, then exits 5 naming it.\n\n"
    "Exit codes: 0 ok, 2 configuration error, 3 CRM error, 4 some records were skipped "
    "(listed in the summary; the rest is stored), 5 the store is busy."
)
DOCTOR_HELP = (
    "Check settings, store, CRM connectivity, authentication, permissions and API usage.\n\n"
    "Prints PASS or FAIL per check with what to fix. Exit codes: 0 all checks pass, 2 a "
    "settings or store problem, 3 a CRM problem."
)


def _explain_stop(store: Store) -> None:
    """After a failed run: what was kept, and that the next run resumes."""
    runs = store.list_runs(limit=1)
    counts = runs[0]["counts"] if runs else {}
    typer.echo(
        f"Sync stopped. {counts.get('fetched', 0)} records fetched and committed before the "
        "error are kept; fix the problem below and run `territory sync` again to resume.",
        err=True,
    )


def _export_help() -> str:
    parts = [
        "Write what the store holds as CSV or JSON.",
        "One row per record (deleted records left out unless --include-deleted), sorted by "
        "id, columns in a fixed order. Timestamps are ISO 8601 in UTC; empty values are empty "
        "CSV cells or JSON null; owner teams are ;-separated in CSV. Columns:",
    ]
    parts += [f"{kind}: {', '.join(columns)}" for kind, columns in EXPORT_COLUMNS.items()]
    return "\n\n".join(parts)


def export_command(
    kind: ExportKind = typer.Argument(..., help="accounts, owners or opportunities."),
    fmt: ExportFormat = typer.Option(ExportFormat.csv, "--format", help="csv or json."),
    out: Path | None = typer.Option(None, "--out", help="Write to this file instead of stdout."),
    crm: str | None = typer.Option(
        None, "--crm", help="Only records of this CRM (salesforce or hubspot); default all."
    ),
    include_deleted: bool = typer.Option(
        False, "--include-deleted", help="Also export deleted records (adds is_deleted)."
    ),
) -> None:
    from territory.config import load_settings
    from territory.sync.export import export_columns, iter_export_rows

    settings = load_settings()
    store = open_existing_store(settings.territory_db_url)
    try:
        rows = iter_export_rows(store, kind.value, crm=crm, include_deleted=include_deleted)
        columns = export_columns(kind.value, include_deleted=include_deleted)
        if out is None:
            count = _write(rows, columns, fmt, sys.stdout)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", encoding="utf-8", newline="") as handle:
                count = _write(rows, columns, fmt, handle)
    finally:
        store.close()
    where = f" to {out}" if out else ""
    typer.echo(f"exported {count} {kind.value}{where}", err=True)
    if count == 0:
        typer.echo("the store holds none: run `territory sync` first", err=True)


def _write(
    rows: Iterator[dict[str, Any]], columns: tuple[str, ...], fmt: ExportFormat, out: TextIO
) -> int:
    from territory.sync.export import write_csv, write_json

    return write_csv(rows, columns, out) if fmt is ExportFormat.csv else write_json(rows, out)


def doctor_command(
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """Check settings, store and CRM access (see DOCTOR_HELP)."""
    from rich.markup import escape

    from territory.config import load_settings
    from territory.connector import factory
    from territory.sync.doctor import doctor_exit_code, run_doctor

    results = run_doctor(load_settings, factory.build_connector)
    if as_json:
        typer.echo(json.dumps([r.__dict__ for r in results], indent=2))
    else:
        console = Console()
        first_with: dict[str, str] = {}  # failure text -> the check that showed it first
        for result in results:
            mark = "[green]PASS[/green]" if result.passed else "[red]FAIL[/red]"
            detail = result.detail.strip()
            if not result.passed:  # one cause failing several checks is printed once
                shown = first_with.setdefault(detail, result.name)
                detail = detail if shown == result.name else f"same failure as {shown}"
            # one greppable line each; the detail is the CRM's text, never markup
            console.print(f"{mark} {escape(result.name)}: {escape(detail)}", highlight=False, soft_wrap=True)
    raise typer.Exit(doctor_exit_code(results))


def register(app: typer.Typer) -> None:
    """Attach ``sync``, ``export`` and ``doctor`` to the main app."""
    app.command("sync", help=SYNC_HELP)(sync_command)
    app.command("export", help=_export_help())(export_command)
    app.command("doctor", help=DOCTOR_HELP)(doctor_command)
