"""Idempotent, newer-wins bulk upsert of connector records into the record tables.

A record overwrites the stored row only when its ``modified_at`` is strictly newer, so
replays, overlap windows and re-delivered pages are no-ops. A delete (``is_deleted``) is the
newest version of the record flagged as deleted: it wins at an equal timestamp and its values
replace the stored ones (connectors deliver deletes with the last known values, as Salesforce
``queryAll`` and HubSpot archived reads do). Because the stored row is always "the greatest
version by (modified_at, is_deleted), first seen on a tie", any split of a change stream into
pages, any overlap and any replay leave the same store (property-tested). Rows
are written with ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` in chunks; the ``WHERE``
repeats the newer-wins rule in SQL so the database never lets an older copy win either.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect

from territory.connector.records import Record
from territory.sync.tables import RECORD_TABLES

CHUNK_SIZE = 1000
"""Rows per statement: well under SQLite's bound-parameter limit, big enough to be fast."""


@dataclass
class UpsertOutcome:
    """What one upsert did, by record id."""

    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    # (account or record id, old owner id, new owner id) for rows whose owner changed
    owner_changes: list[tuple[str, str | None, str | None]] = field(default_factory=list)

    def merge(self, other: UpsertOutcome) -> None:
        """Add ``other``'s results to this one."""
        self.inserted += other.inserted
        self.updated += other.updated
        self.deleted += other.deleted
        self.unchanged += other.unchanged
        self.owner_changes += other.owner_changes


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(record_type: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(record_type)
    if names is None:
        names = _FIELD_NAMES[record_type] = tuple(f.name for f in dataclasses.fields(record_type))
    return names


def record_to_row(record: Record, crm: str, synced_at: datetime) -> dict[str, Any]:
    """Flatten a connector record into a row dict of its table."""
    row = {name: getattr(record, name) for name in _field_names(type(record))}
    if "teams" in row:
        row["teams"] = list(row["teams"])
    if row["modified_at"].tzinfo is None:  # a connector slip; CRM times are UTC
        row["modified_at"] = row["modified_at"].replace(tzinfo=UTC)
    row["crm"] = crm
    row["synced_at"] = synced_at
    return row


def _newest_per_id(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per id: the newest; at equal time a tombstone wins (a re-delivered page
    may hold the same id twice, and Postgres refuses to upsert one row twice per statement).
    """
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        current = best.get(row["id"])
        if current is None or (row["modified_at"], row["is_deleted"]) > (
            current["modified_at"],
            current["is_deleted"],
        ):
            best[row["id"]] = row
    return list(best.values())


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_for_dialect(dialect: str, table: sa.Table) -> Any:
    """An INSERT with ``on_conflict_do_update`` for SQLite or PostgreSQL."""
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise ValueError(f"unsupported database dialect {dialect!r}: use SQLite or PostgreSQL")


@functools.cache
def _live_statement(dialect: str, table: sa.Table) -> Any:
    # built once per dialect and table: rebuilding it for every page costs more than the SQL
    stmt = insert_for_dialect(dialect, table)
    keys = {"crm", "id"}
    return stmt.on_conflict_do_update(
        index_elements=["crm", "id"],
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
        where=stmt.excluded.modified_at > table.c.modified_at,
    )


@functools.cache
def _tombstone_statement(dialect: str, table: sa.Table) -> Any:
    stmt = insert_for_dialect(dialect, table)
    keys = {"crm", "id"}
    return stmt.on_conflict_do_update(
        index_elements=["crm", "id"],
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
        # a delete wins a tie with a live version (the delete happened after that edit)
        where=(stmt.excluded.modified_at > table.c.modified_at)
        | ((stmt.excluded.modified_at == table.c.modified_at) & table.c.is_deleted.is_(False)),
    )


@dataclass(frozen=True)
class _DriverStatement:
    """An upsert compiled once to driver SQL plus per-column bind processors.

    Executing it through ``exec_driver_sql`` skips SQLAlchemy's per-row parameter machinery,
    which costs more than SQLite itself on large syncs; values still go through the very
    processors SQLAlchemy would use (UTC timestamps, JSON, booleans), so stored values and
    their text format are identical.
    """

    sql: str
    names: tuple[str, ...]
    processors: tuple[Any, ...]
    positional: bool

    def params(self, rows: Sequence[dict[str, Any]]) -> list[Any]:
        """Driver parameters for ``rows`` (tuples for qmark, dicts for named styles)."""
        pairs = list(zip(self.names, self.processors))
        if self.positional:
            return [tuple(p(r[n]) if p else r[n] for n, p in pairs) for r in rows]
        return [{n: p(r[n]) if p else r[n] for n, p in pairs} for r in rows]


@functools.cache
def _driver_statement(dialect: Dialect, table: sa.Table, tombstone: bool) -> _DriverStatement:
    stmt = (_tombstone_statement if tombstone else _live_statement)(dialect.name, table)
    names = tuple(c.name for c in table.columns)
    compiled = stmt.compile(dialect=dialect, column_keys=list(names))
    order = tuple(compiled.positiontup) if compiled.positiontup else names
    processors = tuple(table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in order)
    return _DriverStatement(compiled.string, order, processors, compiled.positiontup is not None)


def _write(conn: Connection, table: sa.Table, rows: list[dict[str, Any]], tombstone: bool) -> None:
    if conn.dialect.name != "sqlite":
        # PostgreSQL: SQLAlchemy batches this executemany into multi-row VALUES
        # ("insertmanyvalues", switched on in sync.store.create_store_engine)
        stmt = (_tombstone_statement if tombstone else _live_statement)(conn.dialect.name, table)
        conn.execute(stmt, rows)
        return
    statement = _driver_statement(conn.dialect, table, tombstone)
    conn.exec_driver_sql(statement.sql, statement.params(rows))


def _existing(
    conn: Connection, table: sa.Table, crm: str, ids: list[str]
) -> dict[str, tuple[datetime, bool, str | None]]:
    owner_col = table.c.owner_id if "owner_id" in table.c else sa.null()
    if conn.dialect.name == "postgresql":
        # one array parameter instead of a thousand: ~3x faster to parse and plan (measured)
        id_match = table.c.id == sa.any_(sa.bindparam("ids", ids, type_=ARRAY(sa.String)))
    else:
        id_match = table.c.id.in_(ids)
    query = sa.select(table.c.id, table.c.modified_at, table.c.is_deleted, owner_col).where(
        table.c.crm == crm, id_match
    )
    return {r[0]: (r[1], bool(r[2]), r[3]) for r in conn.execute(query)}


def _classify(
    rows: Sequence[dict[str, Any]],
    existing: dict[str, tuple[datetime, bool, str | None]],
    outcome: UpsertOutcome,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split a chunk into rows to write live and rows to tombstone; count the rest."""
    live: list[dict[str, Any]] = []
    tombstones: list[dict[str, Any]] = []
    for row in rows:
        rid = row["id"]
        stored = existing.get(rid)
        if row["is_deleted"]:
            if stored is None or (not stored[1] and row["modified_at"] >= stored[0]):
                tombstones.append(row)
                outcome.deleted.append(rid)
            elif stored[1] and row["modified_at"] > stored[0]:
                tombstones.append(row)  # newer values of an already deleted record
                outcome.unchanged += 1
            else:
                outcome.unchanged += 1
            continue
        if stored is None:
            live.append(row)
            outcome.inserted.append(rid)
        elif row["modified_at"] > stored[0]:
            live.append(row)
            outcome.updated.append(rid)
            if "owner_id" in row and row["owner_id"] != stored[2]:
                outcome.owner_changes.append((rid, stored[2], row["owner_id"]))
        else:
            outcome.unchanged += 1
    return live, tombstones


def upsert_records(
    conn: Connection, crm: str, kind: str, records: Sequence[Record], *, synced_at: datetime
) -> UpsertOutcome:
    """Write ``records`` of one kind into the store inside the caller's transaction.

    Args:
        conn: A connection inside an open transaction (the caller commits the cursor in it).
        crm: ``"salesforce"`` or ``"hubspot"``; part of the primary key.
        kind: An ``ObjectKind`` value (``owners``, ``accounts``, ``opportunities``).
        records: Records of that kind, in any order, duplicates allowed.
        synced_at: Timestamp stamped on every written row.

    Returns:
        Which ids were inserted, updated or tombstoned and how many were already current.
    """
    table: sa.Table = RECORD_TABLES[kind].__table__  # type: ignore[attr-defined]
    rows = _newest_per_id(record_to_row(r, crm, synced_at) for r in records)
    outcome = UpsertOutcome()
    for chunk in _chunks(rows, CHUNK_SIZE):
        existing = _existing(conn, table, crm, [r["id"] for r in chunk])
        live, tombstones = _classify(chunk, existing, outcome)
        if live:
            _write(conn, table, live, tombstone=False)
        if tombstones:
            _write(conn, table, tombstones, tombstone=True)
    return outcome
