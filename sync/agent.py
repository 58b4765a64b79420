"""The background agent: APScheduler 3.x runs the agent's jobs (:mod:`sync.jobs`).

``sync`` (incremental sync + inbound check) and ``approvals`` (decision polling + apply) run on
intervals (every minute by default), ``rebalance`` (plan + publish) on a crontab from the
settings (quarterly by default). Jobs are registered by textual reference
(``territory.sync.jobs:run_approval_cycle``...) in a SQLAlchemy job store that lives in our
own database, with ``coalesce`` (missed runs collapse into one), ``max_instances=1`` and an
explicit ``misfire_grace_time``; a restarted agent finds its schedule there. The store's lease
(taken inside each job) keeps two agents on one database from running at the same time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

JOB_ID = "territory-agent-cycle"
JOB_REF = "territory.sync.jobs:run_agent_cycle"
JOBS_TABLE = "apscheduler_jobs"
JOB_IDS = {"sync": JOB_ID, "approvals": "territory-approvals", "rebalance": "territory-rebalance"}
"""Our job name -> its id in the scheduler's job store."""
JOB_REFS = {"sync": JOB_REF, "approvals": "territory.sync.jobs:run_approval_cycle",
            "rebalance": "territory.sync.jobs:run_rebalance"}
JOB_NAMES = {"sync": "sync + inbound conflict check", "approvals": "decision polling + apply",
             "rebalance": "scheduled rebalance: plan + publish"}
REBALANCE_OFF = ("", "off", "none", "disabled")


@dataclass(frozen=True)
class Schedule:
    """When the agent's jobs run: two intervals (seconds) and a crontab for the rebalance."""

    sync_s: float = 60.0
    approvals_s: float = 60.0
    rebalance_cron: str = "off"

    def rebalance_trigger(self) -> CronTrigger | None:
        """The rebalance's trigger, None when switched off; ValueError names a bad expression."""
        if self.rebalance_cron.strip().lower() in REBALANCE_OFF:
            return None
        try:
            return CronTrigger.from_crontab(self.rebalance_cron, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"TERRITORY_REBALANCE_CRON {self.rebalance_cron!r} is not a crontab expression "
                             f"({exc}); e.g. '0 6 1 1,4,7,10 *' for quarterly, or 'off'") from None


def build_scheduler(
    db_url: str, schedule: Schedule | float, on_event: Callable[[JobEvent], None] | None = None
) -> BackgroundScheduler:
    """A scheduler with the agent's jobs in our database; the interval jobs run first now.

    Jobs run one at a time in this process (one worker thread), so they never contend for
    the store lease among themselves; the lease keeps other agents out.
    """
    if not isinstance(schedule, Schedule):
        schedule = Schedule(sync_s=float(schedule), approvals_s=float(schedule))
    scheduler = BackgroundScheduler(
        jobstores={"default": _job_store(db_url)},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": max(30, int(max(schedule.sync_s, schedule.approvals_s))),
        },
        timezone="UTC",
    )
    now = datetime.now(UTC)
    for job, seconds in (("sync", schedule.sync_s), ("approvals", schedule.approvals_s)):
        scheduler.add_job(JOB_REFS[job], "interval", seconds=seconds, id=JOB_IDS[job], name=JOB_NAMES[job],
                          replace_existing=True, next_run_time=now)
    if on_event is not None:
        scheduler.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def start_scheduler(scheduler: BackgroundScheduler, schedule: Schedule) -> None:
    """Start, keeping a stored rebalance whose crontab is unchanged (a restart then still runs
    a rebalance it missed while down, within an hour); a changed one is replaced, one
    switched off removed."""
    trigger = schedule.rebalance_trigger()
    scheduler.start(paused=True)
    stored = scheduler.get_job(JOB_IDS["rebalance"])
    if trigger is None:
        if stored is not None:
            scheduler.remove_job(JOB_IDS["rebalance"])
    elif stored is None or str(stored.trigger) != str(trigger):
        scheduler.add_job(JOB_REFS["rebalance"], trigger, id=JOB_IDS["rebalance"], name=JOB_NAMES["rebalance"],
                          replace_existing=True, misfire_grace_time=3600)
    scheduler.resume()


def create_job_table(db_url: str) -> None:
    """Create the job store's table now (checkfirst), before any scheduler starts."""
    store = _job_store(db_url)
    engine = store.engine
    try:
        store.jobs_t.create(engine, checkfirst=True)
    finally:
        engine.dispose()


def _job_store(db_url: str) -> SQLAlchemyJobStore:
    """The job store in our database; on SQLite it waits for the sync's writes, not fails."""
    options = {"connect_args": {"timeout": 30}} if db_url.startswith("sqlite") else {}
    return SQLAlchemyJobStore(url=db_url, tablename=JOBS_TABLE, engine_options=options)


def describe_event(event: JobEvent) -> tuple[str, dict[str, Any] | None]:
    """A one-line account of a finished job run and its result (None on errors/misses)."""
    job = next((name for name, job_id in JOB_IDS.items() if job_id == event.job_id), event.job_id)
    if event.code == EVENT_JOB_MISSED:
        return f"{job}: run missed (the previous one was still running or the agent was paused)", None
    exception = getattr(event, "exception", None)
    if exception is not None:
        return f"{job}: failed: {exception} (retrying at the next run)", None
    result = getattr(event, "retval", None)
    if result is None:
        return f"{job}: skipped: another process holds the store lease on this database", None
    return f"{job}: {summary_line(result)}", result


def summary_line(result: dict[str, Any]) -> str:
    """What one job run did, in a line."""
    if result.get("outcome") in ("stopped", "skipped"):
        return f"{result['outcome']}{': ' + result['message'] if result.get('message') else ''}"
    if result.get("job") == "approvals":
        d, a = result["decisions"], result["apply"]
        return (f"decisions: {d['approved']} approved, {d['rejected']} rejected, {d['unauthorized']} did not count; "
                f"applied {a['applied']} of {a['approved']} ({a['superseded']} superseded, {a['failed']} failed), "
                f"{a['audit_notes']} audit notes, {a['api_calls']} API calls")
    if result.get("job") == "rebalance":
        return (f"scenario {result['scenario']}: {result['moves']} moves, {result.get('published', 0)} proposals "
                f"published, {result.get('superseded', 0)} older superseded")
    sync = result["sync"]
    inbound = result.get("inbound_check")
    line = f"synced: {sync.get('changed_accounts', 0)} changed accounts, {sync.get('api_calls', 0)} API calls"
    if inbound:
        line += f"; inbound check: {sum(inbound['conflicts'].values())} conflicts, {inbound['flagged']} newly flagged"
    return line
