"""CRM records a sync could not read in full, kept in the store until they are readable.

Each page's problems are written in the page's own transaction, with the run that met them,
so a run interrupted halfway (CRM down) loses none: the next run lists the ones no finished
run has reported yet, and ``territory sync --json`` lists every open one until a later read
takes the record cleanly (then its row goes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from territory.connector.records import ObjectKind, SkippedRecord
from territory.sync.tables import UnreadableRecordRow, utc_now

TABLE: sa.Table = UnreadableRecordRow.__table__  # type: ignore[attr-defined]
_CHUNK = 500


class UnreadableRecords:
    """The ``unreadable_records`` table of one store."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def note_page(self, conn: Connection, crm: str, kind: str, run_id: int,
                  clean_ids: Iterable[str], problems: Sequence[SkippedRecord]) -> None:
        """Inside the page's transaction: forget records now read cleanly, keep (or refresh)
        those read with problems. A problem seen again at the same version stays reported."""
        gone = sorted(set(clean_ids) | {p.record_id for p in problems})
        known = self._reported_versions(conn, crm, kind, gone)
        self._delete(conn, crm, kind, gone)
        if problems:
            conn.execute(sa.insert(TABLE), [
                {"crm": crm, "kind": kind, "record_id": p.record_id, "problem": p.problem, "version": p.version,
                 "stored": p.stored, "run_id": run_id, "met_at": utc_now(),
                 "reported": p.version is not None and known.get(p.record_id) == p.version}
                for p in {p.record_id: p for p in problems}.values()
            ])

    def forget_unseen(self, crm: str, kind: str, seen: set[str]) -> None:
        """After a complete ``--full`` read: records the CRM no longer has at all."""
        with self._engine.begin() as conn:
            ids = set(conn.execute(sa.select(TABLE.c.record_id).where(TABLE.c.crm == crm, TABLE.c.kind == kind))
                      .scalars())
            self._delete(conn, crm, kind, sorted(ids - seen))

    def reported_versions(self, crm: str) -> set[tuple[str, str, str]]:
        """(kind, record id, version) of the open problems a finished run has listed."""
        query = sa.select(TABLE.c.kind, TABLE.c.record_id, TABLE.c.version).where(
            TABLE.c.crm == crm, TABLE.c.reported.is_(True), TABLE.c.version.is_not(None))
        with self._engine.connect() as conn:
            return {(k, r, v) for k, r, v in conn.execute(query)}

    def unreported(self, crm: str, met_before_run: int) -> list[SkippedRecord]:
        """Open problems met by an earlier run that never finished (so never listed them)."""
        query = sa.select(TABLE).where(TABLE.c.crm == crm, TABLE.c.reported.is_(False),
                                       TABLE.c.run_id < met_before_run).order_by(TABLE.c.kind, TABLE.c.record_id)
        with self._engine.connect() as conn:
            return [SkippedRecord(ObjectKind(r["kind"]), r["record_id"], r["problem"], r["version"], r["stored"])
                    for r in conn.execute(query).mappings()]

    def mark_reported(self, crm: str) -> None:
        """A run finished and listed every open problem of ``crm``."""
        with self._engine.begin() as conn:
            conn.execute(sa.update(TABLE).where(TABLE.c.crm == crm).values(reported=True))

    def entries(self, crm: str) -> list[dict[str, Any]]:
        """Every open problem of ``crm`` as JSON-ready dicts, by kind and id."""
        query = sa.select(TABLE).where(TABLE.c.crm == crm).order_by(TABLE.c.kind, TABLE.c.record_id)
        with self._engine.connect() as conn:
            return [{"kind": r["kind"], "record_id": r["record_id"], "problem": r["problem"],
                     "stored": r["stored"], "run_id": r["run_id"], "met_at": r["met_at"].isoformat()}
                    for r in conn.execute(query).mappings()]

    @staticmethod
    def _reported_versions(conn: Connection, crm: str, kind: str, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(ids), _CHUNK):
            query = sa.select(TABLE.c.record_id, TABLE.c.version).where(
                TABLE.c.crm == crm, TABLE.c.kind == kind, TABLE.c.reported.is_(True),
                TABLE.c.record_id.in_(ids[start:start + _CHUNK]))
            found.update({r: v for r, v in conn.execute(query) if v is not None})
        return found

    @staticmethod
    def _delete(conn: Connection, crm: str, kind: str, ids: list[str]) -> None:
        for start in range(0, len(ids), _CHUNK):
            conn.execute(sa.delete(TABLE).where(TABLE.c.crm == crm, TABLE.c.kind == kind,
                                                TABLE.c.record_id.in_(ids[start:start + _CHUNK])))
