"""The store (SQLite/PostgreSQL via SQLModel + Alembic) and the incremental sync engine.

Names are imported on first use (PEP 562), so importing one light submodule, or the CLI
for ``--help``, does not load SQLAlchemy, Alembic and every sync module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    "sync.engine": ("SYNC_ORDER", "KindCounts", "SyncSummary", "run_sync"),
    "sync.export": ("EXPORT_COLUMNS", "iter_export_rows", "write_csv", "write_json"),
    "sync.jobs": ("SYNC_LEASE", "run_incremental_sync"),
    "sync.history": ("AppendOnlyViolation", "HistoryEntry", "OwnershipHistory"),
    "sync.lease": ("Leases",),
    "sync.outbox": ("Outbox",),
    "sync.scenarios": ("MoveInput", "ScenarioExistsError", "Scenarios"),
    "sync.store": ("Store", "head_revision", "open_store", "schema_revision"),
    "sync.upsert": ("UpsertOutcome",),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'sync' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from sync.engine import SYNC_ORDER, KindCounts, SyncSummary, run_sync
    from sync.export import EXPORT_COLUMNS, iter_export_rows, write_csv, write_json
    from sync.history import AppendOnlyViolation, HistoryEntry, OwnershipHistory
    from sync.jobs import SYNC_LEASE, run_incremental_sync
    from sync.lease import Leases
    from sync.outbox import Outbox
    from sync.scenarios import MoveInput, ScenarioExistsError, Scenarios
    from sync.store import Store, head_revision, open_store, schema_revision
    from sync.upsert import UpsertOutcome
