"""Outbox of pending CRM writes: enqueue locally first, send later, never twice.

``external_key`` is unique, so enqueueing the same intended write twice (a retried command,
a crash between deciding and recording) keeps one row. The sender marks rows ``sent`` with
the CRM id, or records the error and counts the attempt.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from territory.sync.tables import OutboxRow, utc_now

STATUS_PENDING = "pending"
STATUS_SENT = "sent"
STATUS_FAILED = "failed"


class Outbox:
    """Pending CRM writes stored next to the data they come from."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def enqueue(self, kind: str, payload: dict[str, Any], external_key: str) -> OutboxRow:
        """Add a write unless one with ``external_key`` exists; returns the stored row."""
        with Session(self._engine, expire_on_commit=False) as session:
            found = session.exec(
                select(OutboxRow).where(OutboxRow.external_key == external_key)
            ).first()
            if found is not None:
                return found
            row = OutboxRow(
                kind=kind, payload=payload, external_key=external_key, created_at=utc_now()
            )
            session.add(row)
            session.commit()
            return row

    def get(self, external_key: str) -> OutboxRow | None:
        """The row for ``external_key``, if any."""
        with Session(self._engine, expire_on_commit=False) as session:
            return session.exec(
                select(OutboxRow).where(OutboxRow.external_key == external_key)
            ).first()

    def pending(self, kind: str | None = None, limit: int | None = None) -> list[OutboxRow]:
        """Rows still to send, oldest first."""
        query = select(OutboxRow).where(OutboxRow.status == STATUS_PENDING)
        if kind is not None:
            query = query.where(OutboxRow.kind == kind)
        query = query.order_by(col(OutboxRow.id)).limit(limit)
        with Session(self._engine, expire_on_commit=False) as session:
            return list(session.exec(query).all())

    def mark_sent(self, row_id: int, crm_id: str | None = None) -> None:
        """Record a successful send."""
        self._update(row_id, status=STATUS_SENT, crm_id=crm_id, sent_at=utc_now(), attempt=True)

    def mark_failed(self, row_id: int, error: str, *, final: bool = False) -> None:
        """Record a failed attempt; ``final`` stops further retries (status ``failed``)."""
        status = STATUS_FAILED if final else STATUS_PENDING
        self._update(row_id, status=status, last_error=error, attempt=True)

    def _update(self, row_id: int, *, attempt: bool, **values: Any) -> None:
        with Session(self._engine) as session:
            row = session.get(OutboxRow, row_id)
            if row is None:
                raise KeyError(f"outbox row {row_id} does not exist")
            for name, value in values.items():
                setattr(row, name, value)
            row.attempts += int(attempt)
            session.add(row)
            session.commit()
