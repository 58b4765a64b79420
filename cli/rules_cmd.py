"""`territory rules evaluate|validate` and `territory explain`: rules of engagement on CSV files
or, without --accounts / --reps, on the synced store.

This module only parses arguments and prints; the work lives in :mod:`rules`. Rep sources
are parameters (:data:`RepSource`) so a store-backed variant can reuse the same code.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from territory.cli.errors import InputError
from territory.cli.shared import (
    DecimalOption,
    DelimiterOption,
    EncodingOption,
    RepSource,
    call_csv_reader,
    csv_rep_source,
    json_goes_to_stdout,
    load_rules_or_exit,
    print_read_report,
    read_options,
    store_rep_source,
    write_json_output,
)

RULES_HELP = "Rules file (YAML). Defaults to $TERRITORY_RULES, else territory.yaml."
rules_app = typer.Typer(name="rules", help="Rules of engagement: validate the rules file, evaluate accounts against it.", no_args_is_help=True)


def _rules_option() -> Any:
    return typer.Option(Path("territory.yaml"), "--rules", envvar="TERRITORY_RULES", help=RULES_HELP)


@rules_app.command("validate")
def validate_command(
    rules_path: Path = _rules_option(),
    reps: Path | None = typer.Option(None, "--reps", help="reps.csv: every owner in the rules must be one of its ids (default: the synced owners, when a store is configured)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the outcome (counts, warnings with line and column) as JSON to this file; - for stdout."),
    encoding: EncodingOption = None,
    delimiter: DelimiterOption = None,
    decimal: DecimalOption = None,
) -> None:
    """Check a rules file: schema, ranges, duplicate ids, overlapping named entries, reps.

    With a synced store it also warns about criteria that match no account of the book and
    territories whose owner owns none of the accounts they cover.
    """
    from territory.rules.text_files import ReadReport

    report = ReadReport()
    options = read_options(encoding, delimiter, decimal)
    rep_source = csv_rep_source(reps, options, report) if reps else store_rep_source()
    outcome = validate_rules_file(rules_path, rep_source, None if reps else store_accounts())
    print_read_report(report)
    emit_validation(outcome, json_out)


@rules_app.command("draft")
def draft_command(
    out: Path = typer.Option(Path("territory.yaml"), "--out", help="Where to write the drafted rules file."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Draft a rules file from the synced book that says who owns what today, to edit.

    Every active rep who owns accounts gets territories (postal regions per country) and, for
    accounts they own outside those regions, named accounts. The draft prints the share of
    accounts it leaves in conflict and the largest causes (duplicates by domain, unowned
    accounts, inactive owners, missing data).
    """
    from territory.cli.shared import open_configured_store
    from territory.config import load_settings
    from territory.sync.draft_rules import draft_rules

    if out.exists() and not force:
        raise InputError(f"{out} exists: pass --force to overwrite it, or --out another path")
    settings = load_settings()
    crm = settings.require_crm()
    try:
        draft = draft_rules(open_configured_store(settings.territory_db_url), crm)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    out.write_text(draft.text, encoding="utf-8")
    print_draft_summary(draft, out, crm)


def print_draft_summary(draft: Any, out: Path, crm: str) -> None:
    """What the draft holds and the share of the book it leaves in conflict, by cause."""
    typer.echo(
        f"Wrote {out}: drafted from the synced {crm} book: {draft.territories} territories and "
        f"{draft.named_accounts} named accounts; {draft.reps_with_rules} of the "
        f"{draft.active_owning_reps} active reps who own accounts have rules that cover what they own."
    )
    typer.echo(
        f"On this book the draft leaves {draft.conflicts:,} of {draft.accounts:,} accounts "
        f"({100 * draft.conflict_share:.1f}%) in conflict" + (":" if draft.conflicts else ".")
    )
    for cause, count in list(draft.conflict_causes.items())[:5]:
        typer.echo(f"  {cause}: {count:,}")
    if draft.outside_regions:
        typer.echo(f"{draft.outside_regions:,} accounts lie outside their owner's regions and are kept as named accounts "
                   "('drafted'); `territory plan` does not move named accounts: delete the entries it may move.")
    typer.echo("Edit it, then run `territory rules validate` and `territory check --dry-run`.")


def validate_rules_file(rules_path: Path, rep_source: RepSource | None, accounts: list[Any] | None = None) -> dict[str, Any]:
    """The outcome of validating a rules file (raises InputError, exit 2, when it is invalid).

    Warnings: inactive owners (with reps), and with ``accounts`` (the synced book) criteria
    matching none of them and territories whose owner owns none of what they cover.
    """
    from territory.rules.book_fit import check_book_fit, check_inactive_owners

    rep_list = rep_source() if rep_source is not None else None
    rules = load_rules_or_exit(rules_path, (lambda: rep_list) if rep_list is not None else None)
    inactive = {rep.id for rep in rep_list or () if not rep.active}
    found = check_inactive_owners(rules, inactive) + check_book_fit(rules, accounts or [])
    warnings = [w.as_dict() for w in sorted(found, key=lambda w: (w.line, w.column))]
    return {
        "path": str(rules_path), "valid": True, "reps_checked": rep_list is not None,
        "book_checked": bool(accounts), "territories": len(rules.territories),
        "named_accounts": len(rules.named_accounts), "tiebreakers": list(rules.tiebreakers),
        "warnings": warnings,
    }


def emit_validation(outcome: dict[str, Any], json_out: Path | None) -> None:
    """The outcome as text (warnings as file:line:column) and, with --json, as JSON."""
    if json_out is not None:
        write_json_output(json_out, outcome)
        if str(json_out) == "-":
            return
    checked = " and rep ids" if outcome["reps_checked"] else ""
    typer.echo(
        f"{outcome['path']}: OK{checked}: {outcome['territories']} territories, {outcome['named_accounts']} named accounts, "
        f"tiebreakers {', '.join(outcome['tiebreakers'])}"
    )
    for warning in outcome["warnings"]:
        typer.secho(f"{outcome['path']}:{warning['line']}:{warning['column']}: warning: {warning['message']}", fg="yellow")


@rules_app.command("evaluate")
def evaluate_command(
    rules_path: Path = _rules_option(),
    accounts: Path = typer.Option(..., "--accounts", help="accounts.csv: id,name,owner_id,country,postal_code,industry,employees,annual_revenue,domain,sourcing_rep_id,partner_id"),
    out: Path = typer.Option(..., "--out", help="decisions.csv to write: account_id,current_owner_id,expected_owner_id,territory_ids,status,reason"),
    reps: Path | None = typer.Option(None, "--reps", help="reps.csv: id,name,active[,capacity,is_partner] (the planner's reps.csv works too)."),
    opportunities: Path | None = typer.Option(None, "--opportunities", help="opps.csv: id,account_id,owner_id,amount,stage,is_closed"),
    json_out: Path | None = typer.Option(None, "--json", help="Write a summary (counts per status and territory, coverage, timings) as JSON ('-': standard output)."),
    encoding: EncodingOption = None,
    delimiter: DelimiterOption = None,
    decimal: DecimalOption = None,
) -> None:
    """Evaluate every account: matching territories, expected owner, status and reason.

    The CSVs may come from Excel or a CRM export in any usual encoding and separator; what
    was assumed, and optional columns the rules need but a file lacks, are said on stderr.
    """
    from territory.rules import evaluate
    from territory.rules.csv_io import write_decisions_csv

    started = time.perf_counter()
    rules = load_rules_or_exit(rules_path)
    table, rep_list, opps = read_rules_inputs(rules, accounts, reps, opportunities, read_options(encoding, delimiter, decimal))
    evaluation = evaluate(table, rules, reps=rep_list, opportunities=opps)
    write_decisions_csv(out, evaluation)
    summary = build_summary(evaluation, time.perf_counter() - started)
    if json_out is not None:
        write_json_output(json_out, summary)
    print_summary(summary, out, stderr=json_goes_to_stdout(json_out))


def read_rules_inputs(rules: Any, accounts: Path, reps: Path | None, opportunities: Path | None,
                      options: Any, with_names: bool = False) -> tuple[Any, Any, Any]:
    """accounts, reps and opportunities CSVs as ``rules.evaluate`` takes them; notes and the
    missing columns that matter to ``rules`` are printed on stderr."""
    from territory.rules.columns_in_use import columns_in_use
    from territory.rules.csv_io import read_accounts_csv, read_opportunities_csv
    from territory.rules.text_files import ReadReport

    report = ReadReport()
    rep_list = csv_rep_source(reps, options, report)() if reps else None
    table = call_csv_reader(lambda p: read_accounts_csv(p, with_names=with_names, options=options, report=report), accounts)
    opps = None
    if opportunities:
        opps = call_csv_reader(lambda p: read_opportunities_csv(p, options=options, report=report), opportunities)
    in_use = columns_in_use(rules)
    print_read_report(report, {str(accounts): in_use["accounts"], str(opportunities): in_use["opportunities"]})
    return table, rep_list, opps


def build_summary(evaluation: Any, elapsed_seconds: float) -> dict[str, Any]:
    """summary.json content: counts per status and territory, elapsed seconds, coverage."""
    coverage = [c for c in evaluation.coverage("expected") if c.accounts > 0]
    balance_now, balance_expected = evaluation.potential_balance("current"), evaluation.potential_balance("expected")
    return {
        "accounts": len(evaluation),
        "elapsed_seconds": round(elapsed_seconds, 3),
        "evaluation_seconds": round(evaluation.elapsed_seconds, 3),
        "status_counts": evaluation.status_counts(),
        "territory_counts": evaluation.territory_counts(),
        "potential_balance": {
            name: {"mean": round(b.mean, 2), "max_relative_deviation": round(b.max_relative_deviation, 4), "coefficient_of_variation": round(b.coefficient_of_variation, 4)}
            for name, b in (("current", balance_now), ("expected", balance_expected))
        },
        "rep_coverage": {
            c.rep_id: {"accounts": c.accounts, "potential": round(c.potential, 2), "workload": c.workload, "capacity": c.capacity, "utilisation": round(c.utilisation, 3)}
            for c in coverage
        },
    }


def print_summary(summary: dict[str, Any], out: Path, stderr: bool = False) -> None:
    """A readable table of the status counts plus the key figures (on stderr when stdout
    carries the JSON)."""
    from rich.console import Console
    from rich.table import Table

    total = max(summary["accounts"], 1)
    table = Table(title=f"{summary['accounts']:,} accounts evaluated in {summary['elapsed_seconds']:.2f} s")
    table.add_column("status")
    table.add_column("accounts", justify="right")
    table.add_column("share", justify="right")
    for status, count in summary["status_counts"].items():
        table.add_row(status, f"{count:,}", f"{100 * count / total:.1f}%")
    console = Console(soft_wrap=True, stderr=stderr)
    console.print(table)
    over = sum(1 for c in summary["rep_coverage"].values() if c["utilisation"] > 1)
    balance = summary["potential_balance"]["expected"]
    console.print(
        f"potential balance (expected owners): max deviation {100 * balance['max_relative_deviation']:.1f}%, "
        f"CV {100 * balance['coefficient_of_variation']:.1f}%; reps over capacity: {over}"
    )
    console.print(f"decisions written to {out}")


def explain_command(
    account_id: str = typer.Argument(..., help="Account id to explain."),
    rules_path: Path = _rules_option(),
    accounts: Path | None = typer.Option(None, "--accounts", help="accounts.csv with the whole book (duplicates and loads need it). Without it: the synced store."),
    opportunities: Path | None = typer.Option(None, "--opportunities", help="opps.csv (grandfathering, potential)."),
    reps: Path | None = typer.Option(None, "--reps", help="reps.csv (inactive and partner reps, capacity)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the decision and its path as JSON to this file; - for stdout."),
    encoding: EncodingOption = None,
    delimiter: DelimiterOption = None,
    decimal: DecimalOption = None,
) -> None:
    """Print the full decision path for one account: territories, named entry, tiebreakers, checks, status."""
    from territory.rules import evaluate, explain

    rules = load_rules_or_exit(rules_path)
    if accounts is None:
        evaluation, source = _store_evaluation(rules), "the synced store"
    else:
        options = read_options(encoding, delimiter, decimal)
        table, rep_list, opps = read_rules_inputs(rules, accounts, reps, opportunities, options, with_names=True)
        evaluation, source = evaluate(table, rules, reps=rep_list, opportunities=opps), str(accounts)
    try:
        lines = explain(evaluation, account_id)
    except KeyError:
        raise InputError(f"{source}: no account with id {account_id!r}; check the id (ids are case-sensitive)") from None
    if json_out is not None:
        decision = evaluation.decision(evaluation.row_of(account_id))
        write_json_output(json_out, {
            "account_id": decision.account_id, "status": decision.status.value,
            "current_owner_id": decision.current_owner_id, "expected_owner_id": decision.expected_owner_id,
            "rule_owner_id": decision.rule_owner_id, "territory_ids": list(decision.territory_ids),
            "deciding_rule": decision.deciding_rule, "reason": decision.reason, "lines": lines,
        })
        if str(json_out) == "-":
            return
    typer.echo("\n".join(lines))


def store_accounts() -> list[Any] | None:
    """The synced accounts of the configured CRM, or None without a CRM or synced accounts."""
    from territory.cli.shared import open_configured_store
    from territory.config import load_settings
    from territory.sync.book import load_book

    settings = load_settings()
    if settings.territory_crm is None:
        return None
    return load_book(open_configured_store(settings.territory_db_url), settings.territory_crm).accounts or None


def _store_evaluation(rules: Any) -> Any:
    """Evaluate the whole synced book of the configured CRM."""
    from territory.cli.shared import open_configured_store
    from territory.config import load_settings
    from territory.rules import evaluate
    from territory.sync.book import load_book

    settings = load_settings()
    crm = settings.require_crm()
    book = load_book(open_configured_store(settings.territory_db_url), crm)
    if not book.accounts:
        raise InputError("the store holds no accounts: run `territory sync` first, or pass --accounts")
    return evaluate(book.accounts, rules, reps=book.reps, opportunities=book.opportunities)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.add_typer(rules_app, name="rules")
    app.command("explain")(explain_command)
