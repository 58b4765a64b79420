"""The append-only ownership history (audit trail) of accounts.

Three layers keep it append-only: this module offers only ``append`` and reads; an ORM guard
refuses to flush an update or delete of an :class:`OwnershipHistoryRow`; and the migration
installs database triggers that reject ``UPDATE``/``DELETE`` even from raw SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from territory.sync.tables import OwnershipHistoryRow, utc_now

HISTORY_TABLE: sa.Table = OwnershipHistoryRow.__table__  # type: ignore[attr-defined]

SOURCE_CRM_SYNC = "crm_sync"
"""``source`` of entries the sync writes when it sees an owner changed inside the CRM."""


class AppendOnlyViolation(RuntimeError):
    """Someone tried to update or delete ownership history."""


@dataclass(frozen=True)
class HistoryEntry:
    """One ownership decision or observed change of an account's owner."""

    crm: str
    account_id: str
    old_owner_id: str | None
    new_owner_id: str | None
    reason: str
    source: str
    rule: str | None = None
    approver: str | None = None
    decided_at: datetime | None = None
    crm_result: str | None = None
    id: int | None = None

    def to_row(self) -> dict[str, Any]:
        """Row dict for an insert (``decided_at`` defaults to now)."""
        row = {k: v for k, v in self.__dict__.items() if k != "id"}
        row["decided_at"] = self.decided_at or utc_now()
        return row


@event.listens_for(Session, "before_flush")
def _refuse_history_rewrites(session: Session, _context: Any, _instances: Any) -> None:
    """ORM guard: history rows may be added, never modified or deleted."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, OwnershipHistoryRow) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            raise AppendOnlyViolation(
                f"ownership_history row {obj.id} is append-only: add a new entry instead"
            )


class OwnershipHistory:
    """Append and read the ownership history of a store."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(self, entries: Sequence[HistoryEntry], conn: Connection | None = None) -> int:
        """Insert entries (inside ``conn``'s transaction when given). Returns how many."""
        if not entries:
            return 0
        rows = [e.to_row() for e in entries]
        if conn is not None:
            conn.execute(sa.insert(HISTORY_TABLE), rows)
        else:
            with self._engine.begin() as own:
                own.execute(sa.insert(HISTORY_TABLE), rows)
        return len(rows)

    def list(self, account_id: str | None = None, crm: str | None = None) -> list[HistoryEntry]:
        """Entries oldest first, optionally for one account and/or one CRM."""
        query = sa.select(HISTORY_TABLE).order_by(HISTORY_TABLE.c.id)
        if account_id is not None:
            query = query.where(HISTORY_TABLE.c.account_id == account_id)
        if crm is not None:
            query = query.where(HISTORY_TABLE.c.crm == crm)
        with self._engine.connect() as conn:
            return [HistoryEntry(**dict(row)) for row in conn.execute(query).mappings()]
