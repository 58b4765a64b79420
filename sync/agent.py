"""The background agent: APScheduler 3.x runs the sync cycle on an interval.

The job is registered by textual reference (``sync.jobs:run_agent_cycle``) in a SQLAlchemy job
store that lives in our own database, with ``coalesce`` (missed runs collapse into one),
``max_instances=1`` and an explicit ``misfire_grace_time``. The store's lease row (taken inside
the job) keeps two agents on one database from syncing at the same time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

JOB_ID = "territory-agent-cycle"
JOB_REF = "territory.sync.jobs:run_agent_cycle"
JOBS_TABLE = "apscheduler_jobs"


def build_scheduler(
    db_url: str, interval_s: float, on_event: Callable[[JobEvent], None] | None = None
) -> BackgroundScheduler:
    """A scheduler whose one job runs an agent cycle every ``interval_s``, first one now."""
    scheduler = BackgroundScheduler(
        jobstores={"default": _job_store(db_url)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": max(30, int(interval_s)),
        },
        timezone="UTC",
    )
    scheduler.add_job(
        JOB_REF,
        "interval",
        seconds=interval_s,
        id=JOB_ID,
        name="sync + inbound conflict check",
        replace_existing=True,
        next_run_time=datetime.now(UTC),
    )
    if on_event is not None:
        scheduler.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def _job_store(db_url: str) -> SQLAlchemyJobStore:
    """The job store in our database; on SQLite it waits for the sync's writes, not fails."""
    options = {"connect_args": {"timeout": 30}} if db_url.startswith("sqlite") else {}
    return SQLAlchemyJobStore(url=db_url, tablename=JOBS_TABLE, engine_options=options)


def describe_event(event: JobEvent) -> tuple[str, dict[str, Any] | None]:
    """A one-line account of a finished cycle and its result (None on errors/misses)."""
    if event.code == EVENT_JOB_MISSED:
        return "cycle missed (the previous one was still running or the agent was paused)", None
    exception = getattr(event, "exception", None)
    if exception is not None:
        return f"cycle failed: {exception} (retrying at the next interval)", None
    result = getattr(event, "retval", None)
    if result is None:
        return "cycle skipped: another agent holds the sync lease on this database", None
    sync = result["sync"]
    inbound = result.get("inbound_check")
    line = f"synced: {sync.get('changed_accounts', 0)} changed accounts, {sync.get('api_calls', 0)} API calls"
    if inbound:
        line += f"; inbound check: {sum(inbound['conflicts'].values())} conflicts, {inbound['flagged']} newly flagged"
    return line, result
