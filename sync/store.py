"""The local store: engine set-up, migrations, cursors, run log and record reads.

:func:`open_store` connects to SQLite (default ``sqlite:///territory.db``) or PostgreSQL
(``postgresql+psycopg://...``) and upgrades the schema to the newest Alembic revision. The
:class:`Store` bundles the parts other packages use: ``history`` (append-only audit trail),
``outbox`` (pending CRM writes), ``leases`` (one writer at a time), ``scenarios`` (planner)
and ``unreadable`` (CRM records not read in full, kept until they are readable).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from territory.connector.records import ChangeCursor, Record, SkippedRecord
from territory.sync.history import OwnershipHistory
from territory.sync.lease import Leases
from territory.sync.outbox import Outbox
from territory.sync.scenarios import Scenarios
from territory.sync.tables import RECORD_TABLES, SyncCursorRow, SyncRunRow, utc_now
from territory.sync.unreadable import UnreadableRecords
from territory.sync.upsert import UpsertOutcome, upsert_records

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
WRITE_AT_ONCE = "territory_write_at_once"  # connection option: SQLite BEGIN IMMEDIATE
CURSOR_TABLE: sa.Table = SyncCursorRow.__table__  # type: ignore[attr-defined]
RUN_TABLE: sa.Table = SyncRunRow.__table__  # type: ignore[attr-defined]


def _alembic_config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    """The newest migration revision shipped with this version."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def schema_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate_to_head(engine: Engine) -> None:
    """Apply every pending migration in one transaction (on SQLite an immediate one: two
    commands opening a new store at once wait for each other instead of failing)."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_AT_ONCE: True})
        with conn.begin():
            command.upgrade(_alembic_config(conn), "head")


def _sqlite_pragmas(engine: Engine, in_memory: bool) -> None:
    """Real transactions on SQLite (pysqlite's implicit ones skip reads) plus WAL."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if not in_memory:
            # WAL + NORMAL survives a killed process (not a power cut) and writes fast.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A transaction that reads first and writes later cannot wait for another writer
        # (SQLite answers "database is locked" at once); those that will write say so upfront.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_AT_ONCE) else "BEGIN")


def _create_private_file(path: Path) -> None:
    """Create a new SQLite store file readable by its owner only (0600): it holds the CRM's
    accounts and people. An existing file keeps its mode; its WAL files inherit it."""
    if str(path).startswith("file:") or path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:  # another command created it just now
        pass


def create_store_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL) configured for the store."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if in_memory:
            kwargs["poolclass"] = StaticPool
        else:
            _create_private_file(Path(parsed.database or ""))
        # error messages never carry the statement's values (customer records)
        engine = sa.create_engine(url, hide_parameters=True, **kwargs)
        _sqlite_pragmas(engine, in_memory)
        return engine
    if parsed.get_backend_name() == "postgresql":
        engine = sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)
        # Batch executemany INSERTs into multi-row VALUES (SQLAlchemy does it for psycopg2,
        # not for psycopg 3, whose pipelined executemany still runs one statement per row):
        # 3x faster bulk upserts here (120k rows in pages of 100: 76 s -> 24 s, measured).
        engine.dialect.use_insertmanyvalues_wo_returning = True
        return engine
    raise ValueError(f"unsupported store URL {parsed.render_as_string()}: use sqlite or postgresql")


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Connect to the store at ``url`` and (by default) upgrade its schema to head."""
    engine = create_store_engine(url)
    if migrate:
        migrate_to_head(engine)
    return Store(engine)


class Store:
    """Records, cursors and run log of one database; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.history = OwnershipHistory(engine)
        self.outbox = Outbox(engine)
        self.leases = Leases(engine)
        self.scenarios = Scenarios(engine)
        self.unreadable = UnreadableRecords(engine)

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One writing transaction: committed on success, rolled back on any exception."""
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE_AT_ONCE: True})
            with conn.begin():
                yield conn

    # -- cursors ---------------------------------------------------------------------------

    def get_cursor(self, crm: str, kind: str) -> ChangeCursor | None:
        """The committed cursor for ``crm``/``kind``, or None before the first sync."""
        query = sa.select(CURSOR_TABLE).where(
            CURSOR_TABLE.c.crm == crm, CURSOR_TABLE.c.kind == kind
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return ChangeCursor(
            modified_at=row["modified_at"],
            seen_ids=frozenset(row["seen_ids"] or ()),
            token=row["token"],
            phase=row["phase"],
        )

    def put_cursor(self, conn: Connection, crm: str, kind: str, cursor: ChangeCursor) -> None:
        """Write the cursor inside ``conn``'s transaction (with the data it covers)."""
        values = {
            "modified_at": cursor.modified_at,
            "seen_ids": sorted(cursor.seen_ids),
            "token": cursor.token,
            "phase": cursor.phase,
            "updated_at": utc_now(),
        }
        updated = conn.execute(
            sa.update(CURSOR_TABLE)
            .where(CURSOR_TABLE.c.crm == crm, CURSOR_TABLE.c.kind == kind)
            .values(**values)
        )
        if updated.rowcount == 0:
            conn.execute(sa.insert(CURSOR_TABLE).values(crm=crm, kind=kind, **values))

    def upsert(
        self,
        conn: Connection,
        crm: str,
        kind: str,
        records: Sequence[Record],
        *,
        synced_at: datetime,
    ) -> UpsertOutcome:
        """Newer-wins upsert of records (see :func:`sync.upsert.upsert_records`)."""
        return upsert_records(conn, crm, kind, records, synced_at=synced_at)

    def mark_unseen_deleted(self, crm: str, kind: str, seen: set[str], *, synced_at: datetime) -> list[str]:
        """After a complete ``--full`` read: live rows the CRM no longer returned at all
        (purged: emptied recycle bin, GDPR delete) become tombstones. Returns their ids."""
        table: sa.Table = RECORD_TABLES[kind].__table__  # type: ignore[attr-defined]
        live = sa.select(table.c.id).where(table.c.crm == crm, table.c.is_deleted.is_(False))
        with self.engine.begin() as conn:
            gone = sorted(set(conn.execute(live).scalars()) - seen)
            for start in range(0, len(gone), 500):
                conn.execute(
                    sa.update(table)
                    .where(table.c.crm == crm, table.c.id.in_(gone[start : start + 500]))
                    .values(is_deleted=True, synced_at=synced_at)
                )
        return gone

    # -- run log ---------------------------------------------------------------------------

    def start_run(self, crm: str, full: bool) -> int:
        """Log the start of a sync run; earlier runs still 'running' were interrupted."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(RUN_TABLE)
                .where(RUN_TABLE.c.crm == crm, RUN_TABLE.c.status == "running")
                .values(status="interrupted")
            )
            result = conn.execute(
                sa.insert(RUN_TABLE).values(
                    crm=crm, full=full, started_at=utc_now(), status="running",
                    counts={}, api_calls=0, skipped=[],
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        counts: dict[str, Any],
        api_calls: int,
        skipped: list[SkippedRecord],
        error: str | None = None,
        skipped_known: Sequence[SkippedRecord] = (),
    ) -> None:
        """Record how a run ended (unreadable records with their version, so later runs
        recognise them; ``skipped_known`` ones were reported by an earlier run)."""
        detail = [
            {"kind": s.kind.value, "record_id": s.record_id, "problem": s.problem, "version": s.version,
             "known": known}
            for known, group in ((False, skipped), (True, skipped_known)) for s in group
        ]
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(RUN_TABLE)
                .where(RUN_TABLE.c.id == run_id)
                .values(
                    finished_at=utc_now(), status=status, counts=counts,
                    api_calls=api_calls, skipped=detail, error=error,
                )
            )

    def list_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest runs first."""
        query = sa.select(RUN_TABLE).order_by(RUN_TABLE.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # -- reads -----------------------------------------------------------------------------

    def iter_records(
        self, kind: str, *, crm: str | None = None, include_deleted: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Stored rows of ``kind`` as dicts, sorted by id (then crm)."""
        table: sa.Table = RECORD_TABLES[kind].__table__  # type: ignore[attr-defined]
        # byte order on every backend (SQLite's default), not the PostgreSQL locale's
        by_id = table.c.id.collate("C") if self.engine.dialect.name == "postgresql" else table.c.id
        query = sa.select(table).order_by(by_id, table.c.crm)
        if crm is not None:
            query = query.where(table.c.crm == crm)
        if not include_deleted:
            query = query.where(table.c.is_deleted.is_(False))
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=2000).execute(query).mappings():
                yield dict(row)

    def count_records(
        self, kind: str, *, crm: str | None = None, include_deleted: bool = False
    ) -> int:
        """How many rows of ``kind`` the store holds."""
        table: sa.Table = RECORD_TABLES[kind].__table__  # type: ignore[attr-defined]
        query = sa.select(sa.func.count()).select_from(table)
        if crm is not None:
            query = query.where(table.c.crm == crm)
        if not include_deleted:
            query = query.where(table.c.is_deleted.is_(False))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
