"""`territory agent run`: the background agent (scheduled sync + inbound conflict check)."""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime
from typing import Any

import typer

agent_app = typer.Typer(
    name="agent",
    help="The background agent: sync on a schedule and check inbound accounts against the rules.",
    no_args_is_help=True,
)


@agent_app.command("run")
def run_command(
    interval: float = typer.Option(300.0, "--interval", min=1.0, help="Seconds between cycles."),
    once: bool = typer.Option(False, "--once", help="Run one cycle now and exit (for cron)."),
    max_cycles: int = typer.Option(0, "--max-cycles", min=0, help="Stop after N cycles (0: run until Ctrl-C)."),
    as_json: bool = typer.Option(False, "--json", help="Print each cycle's result as a JSON line."),
) -> None:
    """Run sync + inbound conflict check every --interval seconds until Ctrl-C.

    Each cycle takes the store's sync lease first, so several agents on one database never
    sync at the same time; the schedule lives in the store (APScheduler SQLAlchemy job store).
    """
    from territory.cli.shared import open_configured_store
    from territory.config import load_settings

    settings = load_settings()
    settings.require_crm()
    # Migrate before the scheduler's job store opens the same database: on SQLite a
    # first-run migration inside a job would contend with the job store's writes.
    open_configured_store(settings.territory_db_url).close()
    if once:
        from territory.sync.jobs import run_agent_cycle

        result = run_agent_cycle()
        _emit(result, "cycle skipped: another agent holds the sync lease" if result is None else "cycle done", as_json)
        return
    from territory.sync.agent import build_scheduler, describe_event

    done = threading.Event()
    cycles = [0]

    def on_event(event: Any) -> None:
        line, result = describe_event(event)
        _emit(result, line, as_json)
        cycles[0] += 1
        if max_cycles and cycles[0] >= max_cycles:
            done.set()

    scheduler = build_scheduler(settings.territory_db_url, interval, on_event)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    typer.echo(f"Agent started: a cycle every {interval:g} s (Ctrl-C stops it).")
    scheduler.start()
    try:
        done.wait()
    finally:
        scheduler.shutdown(wait=True)
        typer.echo("Agent stopped.")


def _emit(result: dict[str, Any] | None, line: str, as_json: bool) -> None:
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    if as_json:
        typer.echo(json.dumps({"at": stamp, "message": line, "result": result}, default=str))
    else:
        typer.echo(f"[{stamp}] {line}")


def register(app: typer.Typer) -> None:
    """Attach `territory agent`."""
    app.add_typer(agent_app, name="agent")
