"""`territory market push`: create the prospects a scenario placed as accounts in the CRM.

Exit codes: 0 ok (also a dry run), 2 unknown scenario, no placements or over the cap
(nothing written), 3 fatal CRM error, 4 some creates or notes failed (the rest is done and
a re-run finishes it without duplicates), 5 the store is busy.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from territory.cli.errors import EXIT_PARTIAL, InputError

if TYPE_CHECKING:
    from territory.sync.market_push import PushReport


def push_command(
    scenario: str = typer.Option(..., "--scenario", help="The scenario planned with `territory plan --include-prospects`."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be created; write nothing."),
    max_creates: int | None = typer.Option(None, "--max", min=0, help="Create at most this many accounts in one run "
                                           "(default 200): above it nothing is created."),
    yes: bool = typer.Option(False, "--yes", help="No cap: create every placed prospect."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Create the prospects a scenario placed as accounts (Salesforce) / companies (HubSpot), owned by their planned rep, each with an audit note naming the market source.

    Every create goes through the outbox with an idempotency key written on the record, so re-runs, lost answers and crashes never make a second account. Prospects that match a CRM account by now, left their source or whose planned rep is inactive are skipped.

    Run with --dry-run first: it lists what would be created. More than 200 creates (or --max N) are refused with nothing written; --yes lifts the cap.

    Exit codes: 0 ok, 2 unknown scenario, no placements or over the cap, 3 fatal CRM error, 4 some creates or notes failed (a re-run finishes them), 5 the store is busy.
    """
    from territory.cli.approval_cmd import loop_context
    from territory.sync.market_push import DEFAULT_MAX, PushError, push

    cap = None if yes else (max_creates if max_creates is not None else DEFAULT_MAX)
    with loop_context(None, rules_required=False, lease=not dry_run) as ctx:
        try:
            report = push(ctx.store, ctx.connector, scenario, dry_run=dry_run, cap=cap)
        except PushError as exc:
            raise InputError(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        _print(report)
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL)


def _print(r: PushReport) -> None:
    from territory.cli.plan_output import make_console

    console = make_console()
    verb = "Would create" if r.dry_run else "Created"
    table = Table(title=f"{verb} in {r.crm}: prospects of scenario {r.scenario!r}")
    for column in ("prospect", "source", "owner", "territory", "potential", "account"):
        table.add_column(column, justify="right" if column == "potential" else "left")
    for a in r.accounts[:200]:
        table.add_row(a["name"], a["source"], a["owner"], a["territory"] or "-", f"{a['potential']:,.0f}",
                      a["account_id"] or ("(dry run)" if r.dry_run else "failed"))
    console.print(table)
    console.print(f"{r.placed} prospects placed: {r.to_create} to create, {r.created} created, "
                  f"{r.already_created} created before, {len(r.skipped)} skipped, "
                  f"{r.audit_notes} audit notes written")
    for s in r.skipped[:20]:
        console.print(f"  skipped {s['name']}: {s['reason']}")
    for f in r.failed[:20]:
        console.print(f"  [red]failed[/red] {f}")
    if r.dry_run:
        console.print("Dry run: nothing was written. Run again without --dry-run to create them.")
