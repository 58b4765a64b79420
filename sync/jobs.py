"""Scheduled jobs, referenced textually by the scheduler (``"sync.jobs:run_incremental_sync"``).

A job first takes the ``sync`` lease in the store, so two agents pointed at one database never
sync at the same time; the lease is renewed while pages commit and released at the end. A
killed agent's lease simply expires after ``lease_ttl_s``.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from config import load_settings
from connector import factory
from sync.engine import KindCounts, SyncSummary, run_sync
from sync.store import open_store
from sync.tables import utc_now

SYNC_LEASE = "sync"
DEFAULT_LEASE_TTL_S = 600.0


def default_holder() -> str:
    """This process's lease holder name: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_incremental_sync(
    holder: str | None = None, lease_ttl_s: float = DEFAULT_LEASE_TTL_S, full: bool = False
) -> SyncSummary | None:
    """One sync under the lease; None when another agent holds it.

    Settings come from the environment / ``.env`` like ``territory sync``.
    """
    settings = load_settings()
    store = open_store(settings.territory_db_url)
    me = holder or default_holder()
    try:
        if not store.leases.acquire(SYNC_LEASE, me, lease_ttl_s):
            return None
        renew_at = [utc_now() + timedelta(seconds=lease_ttl_s / 2)]

        def renew(_kind: str, _counts: KindCounts) -> None:
            if utc_now() >= renew_at[0]:
                store.leases.acquire(SYNC_LEASE, me, lease_ttl_s)
                renew_at[0] = utc_now() + timedelta(seconds=lease_ttl_s / 2)

        try:
            return run_sync(factory.build_connector(settings), store, full=full, progress=renew)
        finally:
            store.leases.release(SYNC_LEASE, me)
    finally:
        store.close()
