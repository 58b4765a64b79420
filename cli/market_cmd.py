"""`territory market`: import prospect lists, review their matches, see the whitespace.

Exit codes: 0 ok, 2 bad input (file, line and problem named), 4 imported with matches left
to review is still 0; a missing source or prospect is 2.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from territory.cli.errors import InputError
from territory.cli.shared import hold_store_lease, json_goes_to_stdout, write_json_output

market_app = typer.Typer(
    help="Market data: import prospect lists (Apollo exports, purchased location data), match them "
    "to CRM accounts, review doubtful matches and see the untapped potential per territory.",
    no_args_is_help=True,
)
MATCH_COLUMNS = ("prospect_key", "prospect_name", "account_id", "score", "method")


def _context() -> tuple[Any, str | None, Any]:
    """(store, crm or None, rules or None) from the settings."""
    from territory.cli.shared import load_rules_or_exit, open_configured_store
    from territory.config import load_settings

    settings = load_settings()
    store = open_configured_store(settings.territory_db_url)
    rules_path = Path(settings.territory_rules)
    rule_config = load_rules_or_exit(rules_path) if rules_path.exists() else None
    return store, settings.territory_crm, rule_config


def _parse_maps(maps: list[str]) -> dict[str, str]:
    out = {}
    for item in maps:
        column, sep, target = item.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise InputError(f"--map {item!r}: write COLUMN=FIELD, e.g. --map PLZ=postal_code")
        out[column.strip()] = target.strip()
    return out


@market_app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="The list: CSV/TSV in UTF-8 (with or without BOM), UTF-16 or cp1252; , ; or tab."),
    fmt: str | None = typer.Option(None, "--format", help="apollo or generic (default: from the header)."),
    maps: list[str] = typer.Option([], "--map", help="COLUMN=FIELD for a column the importer does not know "
                                   "(fields: id,name,domain,street,postal_code,city,country,industry,employees,annual_revenue,phone)."),
    source: str | None = typer.Option(None, "--source", help="Source name (default: the file name); re-importing a name replaces it, keeping confirmed and rejected matches."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Read and match, store nothing."),
    out: Path | None = typer.Option(None, "--out", help="Write matches.csv: prospect_key,prospect_name,account_id,score,method."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the summary as JSON here ('-': stdout)."),
    keep_contacts: bool = typer.Option(False, "--keep-contacts", help="Keep people's names, e-mails, titles and phones of people exports (dropped by default)."),
) -> None:
    """Import a prospect list and match it to the synced CRM accounts (exact domain, name + postal code/city, fuzzy name in the postal area)."""
    from territory.rules.text_files import TextFileError
    from territory.sync.market import import_market

    if fmt not in (None, "apollo", "generic"):
        raise InputError("--format must be apollo or generic")
    store, crm, rule_config = _context()
    name = source or file.stem
    try:
        with hold_store_lease(store, needed=not dry_run):
            result = import_market(store, file, source=name, fmt=fmt, overrides=_parse_maps(maps),
                                   keep_contacts=keep_contacts, crm=crm, rule_config=rule_config, dry_run=dry_run)
    except TextFileError as exc:
        raise InputError(f"{exc}\n  Fix the file (or pass --map) and import again.") from None
    except ValueError as exc:
        raise InputError(f"{file}: {exc}") from None
    names = {p.key: p.get("name") or "" for p in result.prospects}
    if out is not None:
        _write_matches(out, result.matches, names)
    summary = result.summary()
    console = Console(stderr=json_goes_to_stdout(json_path))
    for note in result.notes:
        console.print(f"note: {note}")
    kind = "people export" if result.people_rows else "company list"
    console.print(f"{file}: {result.format} {kind}, {result.rows} rows -> {summary['prospects']} prospects")
    if result.contacts_dropped:
        console.print(f"{result.contacts_dropped} people's contact details dropped (personal data; --keep-contacts keeps them)")
    by_method = ", ".join(f"{k} {v}" for k, v in summary["by_method"].items())
    console.print(f"matched {summary['matched']}, new (whitespace) {summary['unmatched']}: {by_method}")
    if summary["ambiguous"]:
        console.print(f"{summary['ambiguous']} matches had CRM duplicates or close runners-up: see `territory market review`")
    console.print("Dry run: nothing stored." if dry_run else f"Stored as market source {name!r}.")
    if json_path is not None:
        write_json_output(json_path, summary)


def _write_matches(path: Path, matches: list[Any], names: dict[str, str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(MATCH_COLUMNS)
        for m in matches:
            writer.writerow([m.prospect_key, names.get(m.prospect_key, ""), m.account_id or "", f"{m.score:.4f}", m.method])


@market_app.command("review")
def review_command(
    below: float = typer.Option(0.95, "--below", help="List matches scoring below this (0..1), and every ambiguous one."),
    source: str | None = typer.Option(None, "--source", help="Only this source."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Doubtful matches to confirm or reject (`territory market confirm|reject PROSPECT_KEY`)."""
    from territory.sync.market import MarketStore

    store, crm, _ = _context()
    market = MarketStore(store)
    names = {r["id"]: r["name"] for r in store.iter_records("accounts", crm=crm)} if crm else {}
    rows = []
    for p in market.prospects(source):
        decided = market.decisions(p["source"]).get(p["key"])
        if p["account_id"] and not decided and (p["score"] < below or p["alternatives"]):
            rows.append({"source": p["source"], "prospect_key": p["key"], "prospect_name": p["name"],
                         "account_id": p["account_id"], "account_name": names.get(p["account_id"], ""),
                         "score": p["score"], "method": p["method"], "other_account_ids": p["alternatives"]})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} matches to review (score below {below:g} or ambiguous)")
    for column in ("prospect_key", "prospect", "account", "score", "method", "others"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["prospect_key"], r["prospect_name"], f"{r['account_name']} [{r['account_id']}]",
                      f"{r['score']:.2f}", r["method"], ", ".join(r["other_account_ids"]))
    Console().print(table)


def _decide(decision: str, prospect_key: str, account_id: str | None, source: str | None) -> None:
    from territory.sync.market import MarketStore, rematch

    store, crm, rule_config = _context()
    market = MarketStore(store)
    found = [p for p in market.prospects(source) if p["key"] == prospect_key]
    if not found:
        raise InputError(f"no prospect {prospect_key!r}{f' in source {source!r}' if source else ''}: see `territory market review`")
    if len({p["source"] for p in found}) > 1:
        raise InputError(f"prospect {prospect_key!r} is in several sources: pass --source")
    prospect = found[0]
    target = account_id or prospect["account_id"]
    if decision == "confirmed" and not target:
        raise InputError(f"{prospect_key} has no match to confirm: give the ACCOUNT_ID it belongs to")
    with hold_store_lease(store):
        market.decide(prospect["source"], prospect_key, decision, target)
        if crm:
            rematch(store, prospect["source"], crm, rule_config)
    typer.echo(f"{decision} {prospect_key} -> {target or '(no account)'} in source {prospect['source']!r}; kept across re-imports")


@market_app.command("confirm")
def confirm_command(
    prospect_key: str = typer.Argument(..., help="Prospect key (see `territory market review`)."),
    account_id: str | None = typer.Argument(None, help="The account it is (default: its current match)."),
    source: str | None = typer.Option(None, "--source", help="Source, when the key is in several."),
) -> None:
    """Confirm a prospect's match (or link it to ACCOUNT_ID)."""
    _decide("confirmed", prospect_key, account_id, source)


@market_app.command("reject")
def reject_command(
    prospect_key: str = typer.Argument(..., help="Prospect key (see `territory market review`)."),
    account_id: str | None = typer.Argument(None, help="The account it is not (default: its current match)."),
    source: str | None = typer.Option(None, "--source", help="Source, when the key is in several."),
) -> None:
    """Reject a prospect's match: that account is never proposed for it again."""
    _decide("rejected", prospect_key, account_id, source)


@market_app.command("whitespace")
def whitespace_command(
    source: str | None = typer.Option(None, "--source", help="Only this source (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Untapped potential per territory and rep, and the territories too large to work."""
    from territory.sync.whitespace import whitespace_report

    store, crm, rule_config = _context()
    if crm is None or rule_config is None:
        raise InputError("whitespace needs TERRITORY_CRM and a rules file (TERRITORY_RULES, default territory.yaml)")
    report = whitespace_report(store, crm, rule_config, source)
    data = {"untapped_potential": report.untapped_potential, "too_large_share": report.too_large_share,
            "territories": [t.as_dict() for t in report.territories], "reps": [r.as_dict() for r in report.reps]}
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    table = Table(title="Whitespace per territory")
    for column in ("territory", "rep", "CRM pot.", "untapped", "share", "workload", "capacity", "too large"):
        table.add_column(column, justify="left" if column in ("territory", "rep") else "right")
    for t in report.territories:
        table.add_row(t.id, t.owner_id or "-", f"{t.crm_potential:,.0f}", f"{t.untapped_potential:,.0f}", f"{t.untapped_share:.0%}",
                      f"{t.crm_workload + t.untapped_workload:,.0f}", f"{t.capacity:,.0f}", "yes" if t.too_large else "")
    console = Console()
    console.print(table)
    console.print(f"{report.too_large_share:.0%} of the untapped potential ({report.untapped_potential:,.0f}) lies in "
                  "territories too large to work (workload including the whitespace above the rep's capacity).")


def register(app: typer.Typer) -> None:
    """Attach `territory market` (``push`` lives in ``cli.market_push_cmd``)."""
    from territory.cli.market_push_cmd import push_command

    market_app.command("push")(push_command)
    app.add_typer(market_app, name="market")
