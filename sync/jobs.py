"""Scheduled jobs, referenced textually by the scheduler (``"territory.sync.jobs:run_agent_cycle"``).

A job first takes the store lease in the store, so two agents pointed at one database never
sync at the same time; the lease is renewed while pages commit and released at the end. A
killed agent's lease simply expires after ``lease_ttl_s``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from territory.config import load_settings
from territory.connector import factory
from territory.connector.base import CrmConnector
from territory.sync.engine import KindCounts, SyncSummary, run_sync
from territory.sync.lease import DEFAULT_TTL_S, STORE_LEASE, LeaseBusy, store_lease
from territory.sync.store import Store, open_store

SYNC_LEASE = STORE_LEASE
DEFAULT_LEASE_TTL_S = DEFAULT_TTL_S
T = TypeVar("T")


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


def run_agent_cycle(
    holder: str | None = None, lease_ttl_s: float = DEFAULT_LEASE_TTL_S
) -> dict[str, Any] | None:
    """One agent cycle under the lease: incremental sync, then the inbound conflict check.

    Returns a JSON-ready summary (``sync`` and ``inbound_check``), or None when another agent
    holds the lease. The check runs only when the rules file (TERRITORY_RULES) exists.
    """
    from territory.sync.conflicts import check_inbound

    rules_path = load_settings().territory_rules

    def cycle(store: Store, connector: CrmConnector, renew: Callable[[str, KindCounts], None]) -> dict[str, Any]:
        summary = run_sync(connector, store, progress=renew)
        changed = summary.changed_account_ids | summary.deleted_account_ids
        report = check_inbound(store, connector, rules_path, changed)
        return {"sync": summary.to_dict(), "inbound_check": report.as_dict() if report else None}

    return _under_lease(holder, lease_ttl_s, cycle)
