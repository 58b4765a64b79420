"""`territory install|uninstall|propose|approvals|apply`: the approval loop inside the CRM.

Parses, takes the store lease for anything that writes, calls ``sync.proposals`` /
``sync.decisions`` / ``sync.apply`` and prints; names people read, ``--json`` for scripts.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from territory.cli.errors import EXIT_PARTIAL, InputError

RulesOption = typer.Option(Path("territory.yaml"), "--rules", envvar="TERRITORY_RULES",
                           help="Rules file (YAML): approvers and grandfathering come from it.")
JsonOption = typer.Option(False, "--json", help="Print the result as JSON.")
DryRunOption = typer.Option(False, "--dry-run", help="Show what would be written; write nothing.")
STATES_HELP = "Proposed, Approved, Rejected, Applied, Superseded or Failed (repeatable)."


@dataclass
class LoopContext:
    """Settings, store, connector and rules of one command run."""

    settings: Any
    store: Any
    connector: Any
    rules: Any
    crm: str


@contextmanager
def loop_context(rules_path: Path | None, *, rules_required: bool = True, lease: bool = True) -> Iterator[LoopContext]:
    """Open everything a loop command needs; hold the store lease when ``lease``."""
    from territory.cli.shared import (
        hold_store_lease,
        load_rules_or_exit,
        open_configured_store,
        store_rep_source,
    )
    from territory.config import load_settings
    from territory.connector.factory import build_connector

    settings = load_settings()
    crm = settings.require_crm()
    store = open_configured_store(settings.territory_db_url)
    rule_config = _rules(rules_path, rules_required, load_rules_or_exit, store_rep_source)
    try:
        if lease:
            with hold_store_lease(store, settings):
                yield LoopContext(settings, store, build_connector(settings), rule_config, crm)
        else:
            yield LoopContext(settings, store, build_connector(settings), rule_config, crm)
    finally:
        store.close()


def _rules(path: Path | None, required: bool, load: Callable[..., Any], reps: Callable[[], Any]) -> Any:
    from territory import rules

    if path is not None and path.exists():
        return load(path, reps())
    if required:
        raise InputError(f"rules file {path} not found: pass --rules or set TERRITORY_RULES "
                         "(`territory rules draft` writes one from the synced book).")
    return rules.RulesConfig(version=1)


def _emit(as_json: bool, payload: dict[str, Any], render: Callable[[Console], None]) -> None:
    if as_json:
        typer.echo(json.dumps(payload, indent=2, default=str))
    else:
        from territory.cli.plan_output import make_console

        render(make_console())


# install / uninstall ----------------------------------------------------------------------
def install_command(rules_path: Path = RulesOption, dry_run: bool = DryRunOption, as_json: bool = JsonOption) -> None:
    """Create the proposal object/properties, list view and approver permission in the CRM."""
    from territory.sync.proposals import People

    with loop_context(rules_path, rules_required=False, lease=not dry_run) as ctx:
        people = People(ctx.store, ctx.crm, ctx.rules)
        steps = ctx.connector.install(dry_run=dry_run, approvers=people.approver_ids())
    _print_steps(steps, dry_run, as_json, ctx.crm, "install", people.name)


def uninstall_command(
    dry_run: bool = DryRunOption, as_json: bool = JsonOption,
    force: bool = typer.Option(False, "--force", help="Uninstall although proposals are still open."),
) -> None:
    """Remove what `territory install` created, and nothing else."""
    with loop_context(None, rules_required=False, lease=not dry_run) as ctx:
        still_open = ctx.connector.count_open_proposals()
        if still_open and not force and not dry_run:
            raise InputError(f"{still_open} proposals are still open (Proposed or Approved) in the CRM: "
                             "decide or apply them first, or pass --force to remove them with the rest.")
        steps = ctx.connector.uninstall(dry_run=dry_run)
        if not dry_run:
            from territory.sync.proposals import close_open_proposals

            close_open_proposals(ctx.store, ctx.crm, "removed from the CRM by `territory uninstall --force`")
    _print_steps(steps, dry_run, as_json, ctx.crm, "uninstall", str)


def _print_steps(steps: list[Any], dry_run: bool, as_json: bool, crm: str, verb: str,
                 name: Callable[[str], str]) -> None:
    changes = [s for s in steps if s.action not in ("exists", "absent")]
    payload = {"crm": crm, "dry_run": dry_run, "changes": len(changes),
               "steps": [{"component": s.component, "action": s.action, "detail": s.detail, "done": s.done}
                         for s in steps]}

    def render(console: Console) -> None:
        table = Table(title=f"{verb} ({crm}){' - dry run, nothing written' if dry_run else ''}")
        for column in ("component", "action", "detail"):
            table.add_column(column)
        for step in steps:
            table.add_row(_readable(step.component, name), step.action, step.detail)
        console.print(table)
        if not changes:
            console.print(f"Nothing to change: {'everything is installed' if verb == 'install' else 'nothing is left'}.")
        elif dry_run:
            console.print(f"{len(changes)} change(s) would be made; run without --dry-run to make them.")

    _emit(as_json, payload, render)


def _readable(component: str, name: Callable[[str], str]) -> str:
    head, sep, user = component.partition(" -> ")
    return f"{head} -> {name(user)}" if sep else component


# propose ----------------------------------------------------------------------------------
def propose_command(
    scenario: str = typer.Option(..., "--scenario", help="Saved scenario to publish (`territory scenarios list`)."),
    rules_path: Path = RulesOption, dry_run: bool = DryRunOption, as_json: bool = JsonOption,
    cap: int = typer.Option(5000, "--cap", min=1, help="Refuse to publish more moves than this in one run."),
) -> None:
    """Publish a scenario's moves as proposals in the CRM for managers to approve there."""
    from territory.sync.proposals import ProposeError, propose

    with loop_context(rules_path, lease=not dry_run) as ctx:
        calls = ctx.connector.api_calls
        try:
            report = propose(ctx.store, ctx.connector, scenario, ctx.rules, dry_run=dry_run, cap=cap)
        except ProposeError as exc:
            raise InputError(str(exc)) from None
        report.api_calls = ctx.connector.api_calls - calls

    def render(console: Console) -> None:
        _preview(console, "Proposals to publish" + (" (dry run)" if dry_run else ""), report.preview,
                 ("account", "from", "to", "approver"))
        todo = report.moves - report.already_published
        if dry_run:
            console.print(f"Would publish {todo} of {report.moves} moves of {scenario!r} "
                          f"({report.already_published} already published) and supersede "
                          f"{report.superseded} open proposals of older scenarios.")
            return
        console.print(f"Published {report.published} proposals of {scenario!r} ({report.already_published} "
                      f"were already published), superseded {report.superseded} older ones, "
                      f"{report.tasks} approval tasks; {report.api_calls} API calls.")
        for problem in report.failed:
            console.print(f"[red]failed:[/red] {problem}")

    _emit(as_json, report.as_dict(), render)
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL)


def _preview(console: Console, title: str, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    if not rows:
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row.get(c) or "") for c in columns))
    console.print(table)


# approvals --------------------------------------------------------------------------------
APPROVAL_COLUMNS = ("account", "from", "to", "state", "decided_by", "decided_at", "approver", "scenario",
                    "published_at", "applied_at", "note", "error", "key", "account_id")


def approvals_command(
    scenario: str | None = typer.Option(None, "--scenario", help="Only this scenario's proposals."),
    state: list[str] = typer.Option(None, "--state", help=STATES_HELP),
    rules_path: Path = RulesOption, as_json: bool = JsonOption,
    output_format: str = typer.Option("table", "--format", help="table or csv (for spreadsheets)."),
    refresh: bool = typer.Option(True, "--refresh/--no-refresh",
                                 help="Read managers' decisions from the CRM first (default) or list the store only."),
) -> None:
    """List proposals with their state, who decided and when."""
    from territory.connector.proposals import STATUSES
    from territory.sync.decisions import poll_decisions
    from territory.sync.proposals import People, list_proposals

    wanted = [_state_name(s, STATUSES) for s in state or []]
    if output_format not in ("table", "csv"):
        raise InputError(f"--format must be table or csv, not {output_format!r}")
    with loop_context(rules_path, lease=refresh) as ctx:
        if refresh:
            poll_decisions(ctx.store, ctx.connector, ctx.rules)
        people = People(ctx.store, ctx.crm, ctx.rules)
        rows = [_approval_row(r, people) for r in list_proposals(ctx.store, ctx.crm, scenario=scenario, states=wanted)]
    if output_format == "csv" and not as_json:
        writer = csv.DictWriter(sys.stdout, fieldnames=APPROVAL_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    _emit(as_json, {"crm": ctx.crm, "proposals": rows}, lambda console: _approvals_table(console, rows))


def _state_name(value: str, states: tuple[str, ...]) -> str:
    for known in states:
        if known.lower() == value.strip().lower():
            return known
    raise InputError(f"--state {value!r} is not a state; use one of {', '.join(states)}")


def _approval_row(row: Any, people: Any) -> dict[str, Any]:
    return {"account": row.account_name or row.account_id, "from": people.name(row.from_owner_id),
            "to": people.name(row.to_owner_id), "state": row.state, "decided_by": people.name(row.decided_by)
            if row.decided_by else "", "decided_at": row.decided_at, "approver": people.name(row.approver_id)
            if row.approver_id else "", "scenario": row.scenario, "published_at": row.published_at,
            "applied_at": row.applied_at, "note": row.note or "", "error": row.error or "", "key": row.key,
            "account_id": row.account_id}


def _approvals_table(console: Console, rows: list[dict[str, Any]]) -> None:
    from collections import Counter

    table = Table(title=f"{len(rows)} proposals")
    for column in ("account", "from", "to", "state", "decided_by", "decided_at", "note"):
        table.add_column(column)
    for row in rows[:200]:
        table.add_row(*(str(row[c] or "")[:60] for c in ("account", "from", "to", "state", "decided_by",
                                                          "decided_at", "note")))
    console.print(table)
    if len(rows) > 200:
        console.print(f"... {len(rows) - 200} more (use --json or --format csv for all).")
    console.print(", ".join(f"{state}: {n}" for state, n in sorted(Counter(r["state"] for r in rows).items())))


# apply ------------------------------------------------------------------------------------
def apply_command(
    rules_path: Path = RulesOption, dry_run: bool = DryRunOption, as_json: bool = JsonOption,
    cap: int = typer.Option(500, "--cap", min=1, help="Refuse to apply more approved proposals than this in one run."),
    yes: bool = typer.Option(False, "--yes", help="Apply every approved proposal, whatever --cap says."),
) -> None:
    """Apply approved proposals exactly once: owner, contacts (and deals), audit note, status."""
    from territory.sync.apply import ApplyCapError, apply_approved
    from territory.sync.decisions import poll_decisions

    with loop_context(rules_path, lease=not dry_run) as ctx:
        calls = ctx.connector.api_calls
        decisions = None if dry_run else poll_decisions(ctx.store, ctx.connector, ctx.rules)
        try:
            report = apply_approved(ctx.store, ctx.connector, ctx.rules, dry_run=dry_run,
                                    cap=sys.maxsize if yes else cap)
        except ApplyCapError as exc:
            raise InputError(f"{exc} (or --yes to apply them all); `territory apply --dry-run` lists them.") from None
        report.api_calls = ctx.connector.api_calls - calls
    payload = report.as_dict()
    payload["decisions"] = decisions.__dict__ if decisions is not None else None
    _emit(as_json, payload, lambda console: _apply_summary(console, report, decisions))
    if report.failed or report.problems:
        raise typer.Exit(EXIT_PARTIAL)


def _apply_summary(console: Console, report: Any, decisions: Any) -> None:
    if decisions is not None and decisions.seen:
        console.print(f"Decisions read from the CRM: {decisions.approved} approved, {decisions.rejected} rejected, "
                      f"{decisions.unauthorized} did not count (set back to Proposed with a note).")
        for attempt in decisions.attempts:
            console.print(f"  {attempt['account']}: {attempt['by']} set {attempt['value']} - {attempt['why']}")
    if report.dry_run:
        _preview(console, "Approved, would be applied (dry run)", report.preview, ("account", "from", "to", "approved_by"))
        console.print(f"{report.approved} approved proposals would be applied (decisions made in the CRM since "
                      "the last `territory approvals` or `apply` are not read on a dry run).")
        return
    console.print(f"Applied {report.applied} of {report.approved} approved proposals: {report.contacts_moved} "
                  f"contacts and {report.opportunities_moved} open opportunities moved with them, "
                  f"{report.audit_notes} audit notes written; {report.superseded} superseded (owner changed "
                  f"by a person since), {report.failed} failed; {report.api_calls} API calls.")
    for problem in report.problems:
        console.print(f"[red]problem:[/red] {problem}")


def register(app: typer.Typer) -> None:
    """Attach the approval-loop commands."""
    app.command("install")(install_command)
    app.command("uninstall")(uninstall_command)
    app.command("propose")(propose_command)
    app.command("approvals")(approvals_command)
    app.command("apply")(apply_command)
