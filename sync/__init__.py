"""The store (SQLite/PostgreSQL via SQLModel + Alembic) and the incremental sync engine."""

from sync.engine import SYNC_ORDER, KindCounts, SyncSummary, run_sync
from sync.export import EXPORT_COLUMNS, iter_export_rows, write_csv, write_json
from sync.jobs import SYNC_LEASE, run_incremental_sync
from sync.history import AppendOnlyViolation, HistoryEntry, OwnershipHistory
from sync.lease import Leases
from sync.outbox import Outbox
from sync.scenarios import MoveInput, ScenarioExistsError, Scenarios
from sync.store import Store, head_revision, open_store, schema_revision
from sync.upsert import UpsertOutcome

__all__ = [
    "EXPORT_COLUMNS",
    "SYNC_LEASE",
    "SYNC_ORDER",
    "AppendOnlyViolation",
    "HistoryEntry",
    "KindCounts",
    "Leases",
    "MoveInput",
    "Outbox",
    "OwnershipHistory",
    "ScenarioExistsError",
    "Scenarios",
    "Store",
    "SyncSummary",
    "UpsertOutcome",
    "head_revision",
    "iter_export_rows",
    "open_store",
    "run_incremental_sync",
    "run_sync",
    "schema_revision",
    "write_csv",
    "write_json",
]
