"""A lease row so two agents on one database never run scheduled work at the same time.

``acquire`` is one atomic upsert: it takes the lease when nobody holds it, when it expired, or
when the caller already holds it (renewal). Holders renew well before ``acquired_until``.
"""

from __future__ import annotations

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
