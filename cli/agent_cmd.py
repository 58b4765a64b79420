"""`territory agent run`: the background agent (sync, decisions + apply, scheduled rebalance)."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import typer

from territory.cli.errors import EXIT_PARTIAL, InputError

agent_app = typer.Typer(
    name="agent",
    help="The background agent: sync + inbound check, managers' decisions + apply, and a scheduled rebalance.",
    no_args_is_help=True,
)
ONCE_JOBS = ("sync", "approvals", "rebalance")


@agent_app.command("run")
def run_command(
    interval: float = typer.Option(None, "--interval", min=1.0,
                                   help="Seconds between sync runs (default TERRITORY_SYNC_INTERVAL_S, 60)."),
    approval_interval: float = typer.Option(
        None, "--approval-interval", min=1.0,
        help="Seconds between decision polling + apply runs (default TERRITORY_APPROVAL_INTERVAL_S, 60)."),
    rebalance_cron: str = typer.Option(
        None, "--rebalance-cron",
        help="Crontab (UTC) of the rebalance that plans and publishes a scenario; 'off' disables it "
             "(default TERRITORY_REBALANCE_CRON, quarterly: '0 6 1 1,4,7,10 *')."),
    once: bool = typer.Option(False, "--once", help="Run the jobs once now and exit (for cron): sync, then approvals."),
    job: list[str] = typer.Option(None, "--job", help="With --once: which jobs, in order (sync, approvals, "
                                                      "rebalance; repeatable). Default: sync and approvals."),
    max_cycles: int = typer.Option(0, "--max-cycles", min=0, help="Stop after N job runs (0: run until stopped)."),
    as_json: bool = typer.Option(False, "--json", help="Log each job run as a JSON line (structured logs)."),
) -> None:
    """Run the agent's jobs on their schedule until Ctrl-C or SIGTERM.

    Jobs: sync (incremental sync + inbound conflict check), approvals (read managers' decisions
    from the CRM, apply approved moves exactly once) and rebalance (plan a new scenario and
    publish it, on a crontab). Each run takes the store lease first, so several agents on one
    database never run at the same time; the schedule lives in the store (APScheduler SQLAlchemy
    job store). SIGTERM/SIGINT let the running job finish its step, then the agent exits 0.
    `territory status` shows the last and next runs.
    """
    from territory.cli.shared import open_configured_store
    from territory.config import load_settings
    from territory.sync.agent import Schedule

    settings = load_settings()
    settings.require_crm()
    schedule = Schedule(sync_s=interval or settings.territory_sync_interval_s,
                        approvals_s=approval_interval or settings.territory_approval_interval_s,
                        rebalance_cron=settings.territory_rebalance_cron if rebalance_cron is None else rebalance_cron)
    try:
        schedule.rebalance_trigger()
    except ValueError as exc:
        raise InputError(str(exc)) from None
    _prepare_database(settings.territory_db_url, open_configured_store)
    log = _Log(as_json, _secrets(settings))
    if once:
        _run_once(job or ["sync", "approvals"], log)
        return
    _run_scheduled(settings.territory_db_url, schedule, max_cycles, log)


def _prepare_database(db_url: str, open_store: Callable[[str], Any], attempts: int = 3) -> None:
    """Migrate the store and create the job store's table before the scheduler starts.

    On SQLite a first-run migration inside a job would contend with the job store's writes;
    two agents started at the same moment on an empty PostgreSQL database race to create the
    same tables, so a failure is retried after a pause (the other agent has created them).
    """
    import time

    import sqlalchemy as sa

    from territory.config import SettingsError
    from territory.sync.agent import create_job_table

    for attempt in range(1, attempts + 1):
        try:
            open_store(db_url).close()
            create_job_table(db_url)
            return
        except (SettingsError, sa.exc.SQLAlchemyError):
            if attempt == attempts:
                raise
            time.sleep(2.0 * attempt)


def _run_once(jobs: list[str], log: _Log) -> None:
    from territory.sync.agent import summary_line
    from territory.sync.jobs import JOB_FUNCTIONS, STOP

    unknown = [j for j in jobs if j not in ONCE_JOBS]
    if unknown:
        raise InputError(f"--job {unknown[0]!r} is not a job; use {', '.join(ONCE_JOBS)}")
    partial = False
    STOP.clear()
    with _stop_on_signals(STOP.set):
        for name in jobs:
            result = JOB_FUNCTIONS[name]()
            if result is None:
                log.emit(name, "skipped", f"{name}: skipped: another process holds the store lease on this database", None)
                continue
            outcome = str(result.get("outcome", "ok"))
            partial |= outcome == "partial"
            log.emit(name, outcome, f"{name}: {summary_line(result)}", result)
            if STOP.is_set():
                break
    if partial:
        raise typer.Exit(EXIT_PARTIAL)


def _run_scheduled(db_url: str, schedule: Any, max_cycles: int, log: _Log) -> None:
    from territory.sync.agent import JOB_IDS, build_scheduler, describe_event, start_scheduler
    from territory.sync.jobs import STOP

    done = threading.Event()
    runs = [0]
    names = {job_id: name for name, job_id in JOB_IDS.items()}

    def on_event(event: Any) -> None:
        line, result = describe_event(event)
        outcome = "failed" if getattr(event, "exception", None) is not None else (
            str(result.get("outcome", "ok")) if result is not None else "skipped")
        log.emit(names.get(event.job_id, event.job_id), outcome, line, result)
        runs[0] += 1
        if max_cycles and runs[0] >= max_cycles:
            done.set()

    def stop() -> None:
        STOP.set()
        done.set()

    scheduler = build_scheduler(db_url, schedule, on_event)
    with _stop_on_signals(stop):
        log.emit("agent", "started", f"Agent started: sync every {schedule.sync_s:g} s, approvals every "
                 f"{schedule.approvals_s:g} s, rebalance {schedule.rebalance_cron!r} (Ctrl-C stops it).", None)
        start_scheduler(scheduler, schedule)
        try:
            done.wait()
        finally:
            STOP.set()  # a job still running finishes its step and ends as "stopped"
            scheduler.shutdown(wait=True)
            STOP.clear()
            log.emit("agent", "stopped", "Agent stopped.", None)


@contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` on SIGINT/SIGTERM inside the block (main thread only); restore after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, lambda *_: stop()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _secrets(settings: Any) -> list[str]:
    """Secret values from the settings, so no log line can carry them."""
    values = [getattr(settings, name) for name in type(settings).model_fields]
    return [v.get_secret_value() for v in values if hasattr(v, "get_secret_value") and v.get_secret_value()]


class _Log:
    """One line per event: readable text, or JSON (structured logs) with ``--json``; secrets masked."""

    def __init__(self, as_json: bool, secrets: list[str]) -> None:
        self.as_json, self.secrets = as_json, [s for s in secrets if len(s) >= 4]

    def emit(self, job: str, outcome: str, line: str, result: dict[str, Any] | None) -> None:
        stamp = datetime.now(UTC)
        if self.as_json:
            text = json.dumps({"at": stamp.strftime("%H:%M:%S"), "ts": stamp.isoformat(), "job": job,
                               "outcome": outcome, "message": line, "result": result}, default=str)
        else:
            text = f"[{stamp:%H:%M:%S}] {line}"
        for secret in self.secrets:
            text = text.replace(secret, "***")
        typer.echo(text)


def status_command(as_json: bool = typer.Option(False, "--json", help="Print the status as JSON.")) -> None:
    """Show the agent's jobs (last and next runs, their outcome), proposals by state and the outbox."""
    from territory.cli.shared import open_configured_store
    from territory.config import load_settings
    from territory.sync.agent import JOB_IDS, JOBS_TABLE
    from territory.sync.agent_runs import status_snapshot

    settings = load_settings()
    store = open_configured_store(settings.territory_db_url)
    try:
        snapshot = status_snapshot(store, settings.territory_crm, JOB_IDS, JOBS_TABLE)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(snapshot, indent=2, default=str))
        return
    _print_status(snapshot)


def _print_status(snapshot: dict[str, Any]) -> None:
    from rich.table import Table

    from territory.cli.plan_output import make_console

    console = make_console()
    table = Table(title=f"territory agent ({snapshot['crm'] or 'no CRM configured'})")
    for column in ("job", "last run", "outcome", "took", "next run", "error"):
        table.add_column(column)
    for name, job in snapshot["jobs"].items():
        last = job["last_run"] or {}
        started = last.get("started_at")
        table.add_row(name, f"{started:%Y-%m-%d %H:%M:%S}" if started else "never", last.get("outcome", ""),
                      f"{last['seconds']} s" if last.get("seconds") is not None else "",
                      f"{job['next_run']:%Y-%m-%d %H:%M:%S}" if job["next_run"] else
                      ("" if job["scheduled"] else "not scheduled"), (last.get("error") or "")[:80])
    console.print(table)
    states = snapshot["proposals"]
    console.print("Proposals: " + (", ".join(f"{s}: {n}" for s, n in sorted(states.items())) or "none"))
    outbox = snapshot["outbox"]
    console.print(f"Outbox: {outbox['pending']} pending, {outbox['failed']} failed writes.")
    for error in outbox["recent_errors"]:
        console.print(f"  [red]{error['status']}[/red] {error['external_key']} after {error['attempts']} "
                      f"attempts: {error['last_error']}")
    lease = snapshot["lease"]
    console.print(f"Store lease: held by {lease['holder']} until {lease['until']:%H:%M:%S} UTC." if lease
                  else "Store lease: free.")


def register(app: typer.Typer) -> None:
    """Attach `territory agent` and `territory status`."""
    app.add_typer(agent_app, name="agent")
    app.command("status")(status_command)
