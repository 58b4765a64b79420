"""A lease row so two agents on one database never run scheduled work at the same time.

``acquire`` is one atomic upsert: it takes the lease when nobody holds it, when it expired, or
when the caller already holds it (renewal). Holders renew well before ``acquired_until``.

A holder on this host whose process is gone (killed, crashed) is noticed at once: its lease is
expired instead of making every later command wait out the TTL. Holders on other hosts (several
agents on one PostgreSQL store) are never second-guessed; their leases expire by time.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from territory.sync.tables import LeaseRow, UtcDateTime, utc_now

LEASE_TABLE: sa.Table = LeaseRow.__table__  # type: ignore[attr-defined]


class Leases:
    """Named leases stored in the ``leases`` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def acquire(
        self, name: str, holder: str, ttl_s: float, *, now: datetime | None = None
    ) -> bool:
        """Take or renew lease ``name`` for ``ttl_s`` seconds. True when ``holder`` has it."""
        now = now or utc_now()
        insert = (sqlite if self._engine.dialect.name == "sqlite" else postgresql).insert
        stmt = insert(LEASE_TABLE).values(
            name=name, holder=holder, acquired_until=now + timedelta(seconds=ttl_s)
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"holder": stmt.excluded.holder, "acquired_until": stmt.excluded.acquired_until},
            where=(LEASE_TABLE.c.holder == holder)
            | (LEASE_TABLE.c.acquired_until < sa.bindparam("now", now, type_=UtcDateTime)),
        )
        with self._engine.begin() as conn:
            conn.execute(stmt)
            current: str = conn.execute(
                sa.select(LEASE_TABLE.c.holder).where(LEASE_TABLE.c.name == name)
            ).scalar_one()
        return bool(current == holder)

    def release(self, name: str, holder: str) -> None:
        """Give the lease up (only if ``holder`` still has it)."""
        with self._engine.begin() as conn:
            conn.execute(
                sa.delete(LEASE_TABLE).where(
                    LEASE_TABLE.c.name == name, LEASE_TABLE.c.holder == holder
                )
            )

    def expire(self, name: str, holder: str) -> None:
        """End ``holder``'s lease now (only if it still holds it), so anyone may take it."""
        with self._engine.begin() as conn:
            conn.execute(
                sa.update(LEASE_TABLE)
                .where(LEASE_TABLE.c.name == name, LEASE_TABLE.c.holder == holder)
                .values(acquired_until=utc_now() - timedelta(seconds=1))
            )

    def current(self, name: str) -> tuple[str, datetime] | None:
        """``(holder, acquired_until)`` of lease ``name`` or None."""
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(LEASE_TABLE.c.holder, LEASE_TABLE.c.acquired_until).where(
                    LEASE_TABLE.c.name == name
                )
            ).first()
        return (row[0], row[1]) if row else None


STORE_LEASE = "store"
DEFAULT_TTL_S = 600.0


class LeaseBusy(RuntimeError):
    """Another process holds the store lease: who (command, pid, host, since), and until when."""

    def __init__(self, name: str, holder: str, until: datetime | None, waited_s: float = 0.0) -> None:
        when = f" until {until:%Y-%m-%d %H:%M:%S} UTC" if until else ""
        waited = f" (waited {waited_s:g} s)" if waited_s else ""
        super().__init__(
            f"the store is busy: {holder} holds its {name!r} lease{when}{waited}. Wait for it to "
            "finish and run the command again (a killed process's lease is taken over at once on "
            "its own host and expires by itself elsewhere; TERRITORY_LEASE_WAIT_S sets how long "
            "a command waits)."
        )
        self.name, self.holder, self.until = name, holder, until


class HeldLease:
    """A lease this process holds; ``renew()`` is cheap to call often (renews at half-time)."""

    def __init__(self, leases: Leases, name: str, holder: str, ttl_s: float) -> None:
        self._leases, self.name, self.holder, self._ttl = leases, name, holder, ttl_s
        self._renew_at = utc_now() + timedelta(seconds=ttl_s / 2)

    def renew(self, *_args: object) -> None:
        """Extend the lease once half of it has passed (accepts and ignores progress args)."""
        if utc_now() >= self._renew_at:
            self._leases.acquire(self.name, self.holder, self._ttl)
            self._renew_at = utc_now() + timedelta(seconds=self._ttl / 2)


_HOLDER_PROCESS = re.compile(r"\(pid (\d+) on ([^,]+), since ")


def holder_is_dead_here(holder: str) -> bool:
    """True when ``holder`` (as :func:`default_holder` writes it) is a process of this host
    that no longer runs. Unknown formats, other hosts and live (or foreign) pids are False."""
    found = _HOLDER_PROCESS.search(holder)
    if found is None or found.group(2) != socket.gethostname():
        return False
    try:
        os.kill(int(found.group(1)), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def default_holder(command: str | None = None) -> str:
    """This process as a lease holder people can read: command, pid, host and since when."""
    import sys

    if command is None:
        words = [os.path.basename(sys.argv[0] or "territory")]
        words += [w for w in sys.argv[1:3] if not w.startswith("-")][:2]
        command = " ".join(words)
    text = f"`{command}` (pid {os.getpid()} on {socket.gethostname()}, since {utc_now():%Y-%m-%d %H:%M:%S} UTC)"
    return text[:200]  # the column's width


@contextmanager
def store_lease(leases: Leases, holder: str | None = None, *, name: str = STORE_LEASE,
                ttl_s: float = DEFAULT_TTL_S, wait_s: float = 0.0,
                sleep: Callable[[float], None] = time.sleep) -> Iterator[HeldLease]:
    """Hold lease ``name`` for the block, waiting up to ``wait_s`` seconds for it, or raise
    :class:`LeaseBusy` naming who holds it."""
    me = holder or default_holder()
    deadline = time.monotonic() + wait_s
    while not leases.acquire(name, me, ttl_s):
        current = leases.current(name)
        if current is not None and holder_is_dead_here(current[0]):
            leases.expire(name, current[0])  # its process is gone: take over without waiting
            continue
        if time.monotonic() >= deadline:
            raise LeaseBusy(name, current[0] if current else "another process",
                            current[1] if current else None, waited_s=wait_s)
        sleep(min(0.5, max(0.05, deadline - time.monotonic())))
    try:
        yield HeldLease(leases, name, me, ttl_s)
    finally:
        leases.release(name, me)
