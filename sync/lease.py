"""A lease row so two agents on one database never run scheduled work at the same time.

``acquire`` is one atomic upsert: it takes the lease when nobody holds it, when it expired, or
when the caller already holds it (renewal). Holders renew well before ``acquired_until``.
"""

from __future__ import annotations

from collections.abc import Iterator
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
    """Another process holds the store lease: who, and until when."""

    def __init__(self, name: str, holder: str, until: datetime | None) -> None:
        when = f" until {until:%Y-%m-%d %H:%M:%S} UTC" if until else ""
        super().__init__(
            f"the store is busy: lease {name!r} is held by {holder}{when}. Wait for it to finish "
            "(a killed process's lease expires by itself) and run the command again."
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


def default_holder() -> str:
    """This process's lease holder name: host and pid."""
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def store_lease(leases: Leases, holder: str | None = None, *, name: str = STORE_LEASE,
                ttl_s: float = DEFAULT_TTL_S) -> Iterator[HeldLease]:
    """Hold lease ``name`` for the block, or raise :class:`LeaseBusy` naming who holds it."""
    me = holder or default_holder()
    if not leases.acquire(name, me, ttl_s):
        current = leases.current(name)
        raise LeaseBusy(name, current[0] if current else "another process", current[1] if current else None)
    try:
        yield HeldLease(leases, name, me, ttl_s)
    finally:
        leases.release(name, me)
