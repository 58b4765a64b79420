"""The agent's run log and the figures ``territory status`` shows.

Every run of a scheduled job (``sync``, ``approvals``, ``rebalance``) is one ``agent_runs`` row:
written ``running`` when it starts, closed with its outcome (``ok``, ``partial``, ``skipped``
when another process held the store lease, ``stopped`` when SIGTERM/SIGINT ended it between
steps, ``failed`` with the error) and a JSON summary. :func:`status_snapshot` adds the next
runs from the scheduler's job store, proposals by state and the outbox backlog.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from territory.sync.store import Store
from territory.sync.tables import AgentRunRow, OutboxRow, ProposalRow, utc_now

RUNS: sa.Table = AgentRunRow.__table__  # type: ignore[attr-defined]
OUTCOMES = ("ok", "partial", "skipped", "stopped", "failed")


@dataclass
class RunRecord:
    """What a job fills in while it runs; the log row is closed with it."""

    outcome: str = "ok"
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@contextmanager
def logged_run(store: Store, job: str, holder: str) -> Iterator[RunRecord]:
    """Log one run of ``job``: a ``running`` row now, its outcome when the block ends.

    An exception escaping the block closes the row as ``failed`` (with the message) and
    propagates, so the scheduler's error event still fires.
    """
    with store.transaction() as conn:
        inserted = conn.execute(sa.insert(RUNS).values(job=job, holder=holder, started_at=utc_now(),
                                                       outcome="running", summary={})).inserted_primary_key
        assert inserted is not None
        run_id = inserted[0]
    record = RunRecord()
    try:
        yield record
    except BaseException as exc:
        record.outcome, record.error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with store.transaction() as conn:
            conn.execute(sa.update(RUNS).where(RUNS.c.id == run_id).values(
                finished_at=utc_now(), outcome=record.outcome, summary=record.summary, error=record.error))


def last_runs(store: Store, job: str, limit: int = 1) -> list[dict[str, Any]]:
    """The newest ``limit`` runs of ``job``, newest first."""
    query = sa.select(RUNS).where(RUNS.c.job == job).order_by(RUNS.c.id.desc()).limit(limit)
    with store.engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def next_runs(store: Store, jobs_table: str) -> dict[str, datetime | None]:
    """Job id -> next run time from the APScheduler job store (empty before the first agent)."""
    if not sa.inspect(store.engine).has_table(jobs_table):
        return {}
    table = sa.Table(jobs_table, sa.MetaData(), autoload_with=store.engine)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.id, table.c.next_run_time)).all()
    return {row[0]: datetime.fromtimestamp(row[1], UTC) if row[1] is not None else None for row in rows}


def proposals_by_state(store: Store, crm: str | None) -> dict[str, int]:
    """How many proposals are in each state (of ``crm``, or all)."""
    table: sa.Table = ProposalRow.__table__  # type: ignore[attr-defined]
    query = sa.select(table.c.state, sa.func.count()).group_by(table.c.state)
    if crm is not None:
        query = query.where(table.c.crm == crm)
    with store.engine.connect() as conn:
        return {state: int(n) for state, n in conn.execute(query)}


def outbox_backlog(store: Store, errors: int = 5) -> dict[str, Any]:
    """Pending writes by kind, failed writes, and the newest errors."""
    table: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        counts = conn.execute(sa.select(table.c.status, table.c.kind, sa.func.count())
                              .where(table.c.status != "sent").group_by(table.c.status, table.c.kind)).all()
        recent = conn.execute(sa.select(table.c.external_key, table.c.status, table.c.attempts, table.c.last_error)
                              .where(table.c.last_error.is_not(None), table.c.status != "sent")
                              .order_by(table.c.id.desc()).limit(errors)).mappings().all()
    pending = {kind: int(n) for status, kind, n in counts if status == "pending"}
    failed = {kind: int(n) for status, kind, n in counts if status == "failed"}
    return {"pending": sum(pending.values()), "pending_by_kind": pending, "failed": sum(failed.values()),
            "failed_by_kind": failed, "recent_errors": [dict(r) for r in recent]}


def status_snapshot(store: Store, crm: str | None, jobs: dict[str, str], jobs_table: str) -> dict[str, Any]:
    """Everything ``territory status`` shows; ``jobs`` maps our job name to its scheduler id."""
    upcoming = next_runs(store, jobs_table)
    job_rows = {}
    for name, job_id in jobs.items():
        last = last_runs(store, name)
        job_rows[name] = {"scheduled": job_id in upcoming, "next_run": upcoming.get(job_id),
                          "last_run": _run_view(last[0]) if last else None}
    lease = store.leases.current("store")
    return {"crm": crm, "jobs": job_rows, "proposals": proposals_by_state(store, crm),
            "outbox": outbox_backlog(store),
            "lease": {"holder": lease[0], "until": lease[1]} if lease and lease[1] > utc_now() else None}


def _run_view(row: dict[str, Any]) -> dict[str, Any]:
    took = (row["finished_at"] - row["started_at"]).total_seconds() if row["finished_at"] else None
    return {"started_at": row["started_at"], "finished_at": row["finished_at"], "outcome": row["outcome"],
            "seconds": round(took, 1) if took is not None else None, "summary": row["summary"], "error": row["error"]}
