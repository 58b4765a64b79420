"""Helpers the CLI commands share: opening the store, loading the rules file and reps, and
printing sync and conflict reports. Commands import from here, never from each other."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from territory.cli.errors import InputError

if TYPE_CHECKING:  # the heavy modules load inside the functions, so --help stays fast
    from territory.rules.text_files import ReadOptions, ReadReport
    from territory.sync import Store, SyncSummary

RepSource = Callable[[], list[Any]]  # returns rules.Rep records


SKIPPED_SHOWN = 20


def open_configured_store(url: str) -> Store:
    """Open (and migrate) the store, turning driver errors into a settings error (exit 2)."""
    import sqlalchemy as sa
    from alembic.util.exc import CommandError as AlembicCommandError

    from territory.config import SettingsError
    from territory.sync import open_store

    try:
        return open_store(url)
    except AlembicCommandError as exc:
        raise SettingsError(
            "TERRITORY_DB_URL",
            f"the store's schema cannot be upgraded ({exc}); it may come from a newer "
            "territory-agent: upgrade territory-agent or point TERRITORY_DB_URL elsewhere.",
        ) from None
    except (sa.exc.SQLAlchemyError, ValueError, OSError) as exc:
        raise SettingsError(
            "TERRITORY_DB_URL",
            f"cannot open the store ({type(exc).__name__}: {exc}). Check the URL, that the "
            "database server runs and that the user may create tables.",
        ) from None


def open_existing_store(url: str) -> Store:
    """Open the store for a command that only reads it: a SQLite file that does not exist yet
    is an error (exit 2) instead of a new empty database."""
    import sqlalchemy as sa

    from territory.config import SettingsError

    parsed = sa.make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") \
            and not database.startswith("file:") and not Path(database).exists():
        raise SettingsError("TERRITORY_DB_URL", f"there is no store at {Path(database).resolve()}: run "
                            "`territory sync` first, or point TERRITORY_DB_URL at your store.")
    return open_configured_store(url)


@contextmanager
def writing_store(settings: Any) -> Iterator[Store]:
    """The configured store, held under the store lease for a command that writes to it: one
    writer at a time. Waits up to TERRITORY_LEASE_WAIT_S, then raises ``LeaseBusy`` (exit 5)."""
    store = open_configured_store(settings.territory_db_url)
    try:
        with hold_store_lease(store, settings):
            yield store
    finally:
        store.close()


def hold_store_lease(store: Store, settings: Any = None, *, needed: bool = True) -> Any:
    """The store lease (a context manager) with the configured wait; a no-op unless ``needed``
    (e.g. on a dry run, which writes nothing)."""
    from contextlib import nullcontext

    from territory.config import load_settings
    from territory.sync.lease import store_lease

    if not needed:
        return nullcontext()
    wait_s = (settings or load_settings()).territory_lease_wait_s
    return store_lease(store.leases, wait_s=wait_s)


JSON_STDOUT = "-"
JSON_PATH_HELP = " ('-': standard output)"


def json_goes_to_stdout(path: Path | str | None) -> bool:
    """True when a ``--json PATH`` option asks for standard output (``--json -``)."""
    return path is not None and str(path) == JSON_STDOUT


def write_json_output(path: Path | str, document: Any, *, sort_keys: bool = False) -> None:
    """Write ``document`` as indented JSON to ``path``, or to standard output for ``-``."""
    text = json.dumps(document, indent=2, sort_keys=sort_keys, default=str) + "\n"
    if json_goes_to_stdout(path):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def load_rules_or_exit(path: Path, rep_source: RepSource | None = None) -> Any:
    """Load (and check reps when a source is given); errors become exit code 2."""
    from territory.rules import RulesFileError, load_rules

    try:
        known = {rep.id for rep in rep_source()} if rep_source is not None else None
        return load_rules(path, known_reps=known)
    except RulesFileError as exc:
        raise InputError(f"{exc}\n  Fix the rules file at that line and run `territory rules validate` again.") from None


EncodingOption = Annotated[str | None, typer.Option(
    "--encoding", help="Encoding of the input CSVs (utf-8, cp1252, latin-1, utf-16...). Default: detected "
    "(a byte-order mark, else UTF-8, else cp1252 when it fits, said on stderr; otherwise you are asked for it).")]
DelimiterOption = Annotated[str | None, typer.Option(
    "--delimiter", help="Field separator of the input CSVs: , ; tab or |. Default: detected from the first lines.")]
DecimalOption = Annotated[str | None, typer.Option(
    "--decimal", help="How the input CSVs write decimals: point (1,234.5) or comma (1.234,5). Default: as the "
    "files' numbers show; a value like 1.234 that nothing explains is an error at its line.")]


def read_options(encoding: str | None, delimiter: str | None, decimal: str | None) -> ReadOptions:
    """The three file options as one value; a bad one is an input error (exit 2)."""
    from territory.rules.text_files import ReadOptions, normalize_delimiter

    try:
        return ReadOptions(encoding, normalize_delimiter(delimiter) if delimiter else None, decimal)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def print_read_report(report: ReadReport, columns_that_matter: Mapping[str, Mapping[str, str]] | None = None) -> None:
    """On stderr: what was assumed reading the files, and each missing optional column that
    changes the results (``columns_that_matter``: file -> column -> why)."""
    for note in report.notes:
        typer.secho(f"note: {note}", err=True, fg="yellow")
    for source, missing in report.missing.items():
        matter = (columns_that_matter or {}).get(source, {})
        for column in missing:
            if column in matter:
                typer.secho(f"warning: {source} has no column {column}: {matter[column]}; add the column "
                            "(or check the header's spelling and separator)", err=True, fg="yellow")


def csv_rep_source(path: Path, options: ReadOptions | None = None, report: ReadReport | None = None) -> RepSource:
    """A rep source reading reps.csv (``id,name,active[,capacity,is_partner]``)."""
    from territory.rules.csv_io import read_reps_csv

    return lambda: call_csv_reader(lambda p: read_reps_csv(p, options=options, report=report), path)


def call_csv_reader(reader: Callable[[Path], Any], path: Path) -> Any:
    """Run a CSV reader; a bad row or header becomes an input error (exit 2)."""
    from territory.rules.errors import CsvInputError

    try:
        return reader(path)
    except CsvInputError as exc:
        raise InputError(f"{exc}\n  Fix that row (or the header) and run the command again.") from None


def store_rep_source() -> RepSource | None:
    """The synced owners of the configured CRM as reps, or None without a CRM or synced owners."""
    from territory.config import load_settings

    settings = load_settings()
    if settings.territory_crm is None:
        return None
    from territory.sync.book import load_reps

    reps, _ = load_reps(open_configured_store(settings.territory_db_url), settings.territory_crm)
    return (lambda: reps) if reps else None


def _summary_table(summary: SyncSummary) -> Table:
    from territory.sync.engine import COUNT_NAMES

    mode = summary.mode
    table = Table(title=f"Sync summary: {summary.crm}, {mode}, run #{summary.run_id}")
    table.add_column("object")
    for name in COUNT_NAMES:
        table.add_column(name, justify="right")
    for kind, counts in summary.kinds.items():
        table.add_row(kind, *(str(getattr(counts, n)) for n in COUNT_NAMES))
    table.add_row("total", *(str(summary.total(n)) for n in COUNT_NAMES), style="bold")
    return table


def print_sync_summary(console: Console, summary: SyncSummary) -> None:
    """The per-object counts, calls and time of a sync run, then what was purged or skipped."""
    console.print(_summary_table(summary))
    console.print(
        f"API calls: {summary.api_calls}   elapsed: {summary.elapsed_s:.1f} s   "
        f"status: {summary.status}"
    )
    purged = sum(c.purged for c in summary.kinds.values())
    if purged:
        console.print(f"{purged} record(s) no longer exist in the CRM at all (purged): marked deleted")
    if summary.skipped_known:
        console.print(
            f"{len(summary.skipped_known)} record(s) reported by an earlier run are still unreadable "
            "(unchanged since; not counted again): fix them in the CRM"
        )
    if summary.skipped:
        _list_records(console, f"{len(summary.skipped)} record(s) skipped:", summary.skipped)
        console.print("Fix them in the CRM; the next sync picks them up once they change.")
    if summary.warnings:
        _list_records(console, f"{len(summary.warnings)} record(s) stored with an unusable field left empty:",
                      summary.warnings)
    if summary.open_problems:
        console.print(f"The store lists {len(summary.open_problems)} CRM record(s) not read in full until they "
                      "are fixed (`territory sync --json`: unreadable_records, field_warnings).")


def _list_records(console: Console, title: str, records: list[Any]) -> None:
    """A yellow title, then one unwrapped line per record (greppable, copyable), at most
    SKIPPED_SHOWN of them."""
    console.print(f"[yellow]{title}[/yellow]")
    for record in records[:SKIPPED_SHOWN]:
        console.print(f"  {record.kind.value} {record.record_id}: {record.problem}",
                      soft_wrap=True, highlight=False, markup=False)
    if len(records) > SKIPPED_SHOWN:
        console.print(f"  ... and {len(records) - SKIPPED_SHOWN} more (see --json)")


def print_check_report(console: Console, report: Any) -> None:
    """A table of conflicts by status and what was written to the CRM."""
    table = Table(title=f"Conflicts in {report.crm} ({report.evaluated} accounts evaluated)")
    table.add_column("status")
    table.add_column("accounts", justify="right")
    for status, count in sorted(report.conflicts.items()):
        table.add_row(status, str(count))
    console.print(table)
    if report.dry_run:
        console.print(f"Dry run: nothing was written to the CRM; a check would create {report.would_flag:,} new tasks.")
        if report.max_flags is not None and report.would_flag > report.max_flags:
            console.print(f"That is more than the limit of {report.max_flags:,}: `territory check` would write none "
                          "of them; `territory check --yes` creates them all.")
    elif report.capped:
        console.print(capped_message(report))
    else:
        console.print(
            f"CRM: {report.flagged} new flags, {report.already_flagged} already flagged, "
            f"{report.reconciled} reconciled after an interruption, {report.resolved} resolved, "
            f"{report.auto_assigned} auto-assigned."
        )
    print_write_problems(console, report, shown=20)


def capped_message(report: Any) -> str:
    """Why a check wrote nothing, and how to preview and go ahead."""
    return (
        f"[yellow]Nothing written: this check would create {report.would_flag:,} conflict tasks, more than "
        f"the limit of {report.max_flags:,}.[/yellow] Preview them with `territory check --dry-run` "
        "(`--format csv` for all), fix the rules or the book, then run `territory check --yes` to create "
        "them all, or raise --max-flags / TERRITORY_MAX_FLAGS."
    )


def print_write_problems(console: Console, report: Any, shown: int) -> None:
    """Auto-assignments left alone (owned in the CRM meanwhile) and failed CRM writes of a
    conflict report, at most ``shown`` of each."""
    for skipped in report.skipped_assignments[:shown]:
        console.print(f"[yellow]not auto-assigned[/yellow] {skipped}")
    for failure in report.failures[:shown]:
        console.print(f"[red]failed[/red] {failure}")


T = TypeVar("T")


def read_planner_file(read: Callable[[Any], T]) -> T:
    """Run a planner reader with a fresh ``ReadReport``: what it assumed about the file goes
    to stderr, a ``PlanInputError`` becomes an InputError naming file, line and fix."""
    from territory.planner.csv_io import PlanInputError
    from territory.rules.text_files import ReadReport

    report = ReadReport()
    try:
        result = read(report)
    except PlanInputError as exc:
        raise InputError(str(exc)) from None
    print_read_report(report)
    return result
def approvers_yaml(owners: list[dict[str, Any]], crm: str) -> str:
    """The rules file's ``approvers`` section an admin writes for this org.

    Team leads have no manager in the CRM: the lead of the biggest team is head of sales and
    decides for the other leads; the lead of the second biggest decides moves that would go to
    the head (nobody approves a move to themselves). On HubSpot (no manager field) every rep's
    manager is listed too.
    """
    from collections import Counter

    import yaml

    key = "sf_id" if crm == "salesforce" else "hs_id"
    by_n = {o["n"]: o for o in owners}
    reports = Counter(o["manager_n"] for o in owners if o.get("manager_n") and by_n[o["manager_n"]]["is_active"])
    ranked = sorted(reports, key=lambda n: (-reports[n], n))
    if not ranked:
        return ""
    head = ranked[0]
    managers = {by_n[o["n"]][key]: by_n[head][key] for o in owners
                if not o.get("manager_n") and o["is_active"] and o["n"] != head}
    if len(ranked) > 1:
        managers[by_n[head][key]] = by_n[ranked[1]][key]
    if crm == "hubspot":
        managers.update({o[key]: by_n[o["manager_n"]][key] for o in owners if o.get("manager_n")})
    return "\n# who may decide reassignment proposals (docs/rules.md#approvers)\n" + yaml.safe_dump(
        {"approvers": {"managers": managers}}, sort_keys=False)
