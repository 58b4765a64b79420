"""Scheduled jobs, referenced textually by the scheduler (``"territory.sync.jobs:run_agent_cycle"``).

Three jobs: ``sync`` (incremental sync + inbound check), ``approvals`` (read managers' decisions
from the CRM, apply the approved moves) and ``rebalance`` (plan a new scenario from the store
and publish it). Each first takes the store lease, so two agents pointed at one database never
run at the same time; the lease is renewed while work commits and released at the end (a
killed agent's lease simply expires after ``lease_ttl_s``). Each run is logged in
``agent_runs`` (:mod:`sync.agent_runs`). :data:`STOP` set (SIGTERM/SIGINT) lets a running job
finish the step it is in (a sync, one apply batch) and end as ``stopped``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from territory.config import Settings, load_settings
from territory.connector import factory
from territory.connector.base import CrmConnector
from territory.sync.agent_runs import logged_run
from territory.sync.engine import KindCounts, SyncSummary, run_sync
from territory.sync.lease import DEFAULT_TTL_S, STORE_LEASE, LeaseBusy, default_holder, store_lease
from territory.sync.store import Store, open_store

SYNC_LEASE = STORE_LEASE
DEFAULT_LEASE_TTL_S = DEFAULT_TTL_S
STOP = threading.Event()
"""Set by the agent on SIGTERM/SIGINT: jobs end after the step they are in."""
T = TypeVar("T")


class StopRequested(Exception):
    """Raised between steps once :data:`STOP` is set."""


def _under_lease(
    holder: str | None,
    lease_ttl_s: float,
    work: Callable[[Store, CrmConnector, Callable[[str, KindCounts], None]], T],
) -> T | None:
    """Run ``work`` with the store, a connector and a lease-renewing progress hook.

    Returns None (without running) when another process holds the store lease.
    """
    settings = load_settings()
    store = open_store(settings.territory_db_url)
    try:
        with store_lease(store.leases, holder, ttl_s=lease_ttl_s) as lease:
            from territory.sync.book import read_visit_modes

            connector = factory.build_connector(settings)
            read_visit_modes(connector, settings.territory_rules)
            return work(store, connector, lease.renew)
    except LeaseBusy:
        return None
    finally:
        store.close()


def run_incremental_sync(
    holder: str | None = None, lease_ttl_s: float = DEFAULT_LEASE_TTL_S, full: bool = False
) -> SyncSummary | None:
    """One sync under the lease; None when another agent holds it.

    Settings come from the environment / ``.env`` like ``territory sync``.
    """
    return _under_lease(
        holder, lease_ttl_s, lambda store, connector, renew: run_sync(connector, store, full=full, progress=renew)
    )


@dataclass
class JobContext:
    """What a logged job works with."""

    settings: Settings
    store: Store
    connector: CrmConnector
    renew: Callable[..., None]

    def checkpoint(self, *_args: object) -> None:
        """Renew the lease; stop here when the agent was asked to stop."""
        self.renew()
        if STOP.is_set():
            raise StopRequested


def _logged_job(job: str, holder: str | None, lease_ttl_s: float,
                work: Callable[[JobContext], dict[str, Any]]) -> dict[str, Any] | None:
    """Run ``work`` under the lease and log the run; None when another process holds the lease.

    ``work`` returns a JSON-ready summary; its ``outcome`` key (default ``ok``) becomes the
    run's outcome.
    """
    settings = load_settings()
    store = open_store(settings.territory_db_url)
    me = holder or default_holder()
    try:
        with logged_run(store, job, me) as record:
            try:
                with store_lease(store.leases, me, ttl_s=lease_ttl_s) as lease:
                    context = JobContext(settings, store, factory.build_connector(settings), lease.renew)
                    summary = work(context)
            except LeaseBusy as exc:
                record.outcome, record.summary = "skipped", {"lease_holder": exc.holder}
                return None
            except StopRequested:
                record.outcome, record.summary = "stopped", {"message": "stopped between steps on request"}
                return {"outcome": "stopped"}
            record.outcome = str(summary.get("outcome", "ok"))
            record.summary = summary
            return summary
    finally:
        store.close()


def _rules_or_none(settings: Settings) -> Any:
    from territory import rules

    path = settings.territory_rules
    return rules.load_rules(path) if path.exists() else None


def run_agent_cycle(
    holder: str | None = None, lease_ttl_s: float = DEFAULT_LEASE_TTL_S
) -> dict[str, Any] | None:
    """One sync job under the lease: incremental sync, then the inbound conflict check.

    Returns a JSON-ready summary (``sync`` and ``inbound_check``), or None when another agent
    holds the lease. The check runs only when the rules file (TERRITORY_RULES) exists.
    """
    from territory.sync.conflicts import check_inbound

    def cycle(ctx: JobContext) -> dict[str, Any]:
        summary = run_sync(ctx.connector, ctx.store, progress=ctx.renew)
        ctx.checkpoint()
        changed = summary.changed_account_ids | summary.deleted_account_ids
        report = check_inbound(ctx.store, ctx.connector, ctx.settings.territory_rules, changed)
        return {"job": "sync", "sync": summary.to_dict(), "inbound_check": report.as_dict() if report else None}

    return _logged_job("sync", holder, lease_ttl_s, cycle)


def run_approval_cycle(
    holder: str | None = None, lease_ttl_s: float = DEFAULT_LEASE_TTL_S
) -> dict[str, Any] | None:
    """One approvals job: read managers' decisions from the CRM, then apply approved moves.

    Skipped (outcome ``skipped``) without a rules file: approvers and grandfathering come from
    it. Failed proposals make the outcome ``partial``.
    """
    from territory.sync.apply import apply_approved
    from territory.sync.decisions import poll_decisions

    def cycle(ctx: JobContext) -> dict[str, Any]:
        rule_config = _rules_or_none(ctx.settings)
        if rule_config is None:
            return {"job": "approvals", "outcome": "skipped",
                    "message": f"no rules file at {ctx.settings.territory_rules} (TERRITORY_RULES)"}
        calls = ctx.connector.api_calls
        decisions = poll_decisions(ctx.store, ctx.connector, rule_config)
        ctx.checkpoint()
        report = apply_approved(ctx.store, ctx.connector, rule_config, progress=ctx.checkpoint)
        applied = report.as_dict()
        applied.pop("preview", None)
        applied["api_calls"] = ctx.connector.api_calls - calls
        outcome = "partial" if report.failed or report.problems else "ok"
        return {"job": "approvals", "outcome": outcome, "decisions": decisions.as_dict(), "apply": applied}

    return _logged_job("approvals", holder, lease_ttl_s, cycle)


def run_rebalance(
    holder: str | None = None, lease_ttl_s: float = DEFAULT_LEASE_TTL_S
) -> dict[str, Any] | None:
    """One rebalance job: plan a scenario from the synced store and publish it as proposals.

    The scenario is named ``rebalance-YYYYMMDD-HHMM``; publishing supersedes the open proposals
    of older scenarios. A plan that breaks a hard rule is saved but not published (``partial``).
    """
    from territory.sync.rebalance import plan_and_publish

    def cycle(ctx: JobContext) -> dict[str, Any]:
        rule_config = _rules_or_none(ctx.settings)
        if rule_config is None:
            return {"job": "rebalance", "outcome": "skipped",
                    "message": f"no rules file at {ctx.settings.territory_rules} (TERRITORY_RULES)"}
        return {"job": "rebalance", **plan_and_publish(ctx, rule_config)}

    return _logged_job("rebalance", holder, lease_ttl_s, cycle)


JOB_FUNCTIONS: dict[str, Callable[..., dict[str, Any] | None]] = {
    "sync": run_agent_cycle, "approvals": run_approval_cycle, "rebalance": run_rebalance,
}
