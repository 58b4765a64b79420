"""The store (SQLite/PostgreSQL via SQLModel + Alembic) and the incremental sync engine.

Names are imported on first use (PEP 562), so importing one light submodule, or the CLI
for ``--help``, does not load SQLAlchemy, Alembic and every sync module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOMES = {
    "territory.sync.engine": ("SYNC_ORDER", "KindCounts", "SyncSummary", "run_sync"),
    "territory.sync.export": ("EXPORT_COLUMNS", "iter_export_rows", "write_csv", "write_json"),
    "territory.sync.jobs": ("SYNC_LEASE", "run_incremental_sync"),
    "territory.sync.history": ("AppendOnlyViolation", "HistoryEntry", "OwnershipHistory"),
    "territory.sync.lease": ("LeaseBusy", "Leases", "STORE_LEASE", "store_lease"),
    "territory.sync.outbox": ("Outbox",),
    "territory.sync.scenarios": ("MoveInput", "ScenarioExistsError", "Scenarios"),
    "territory.sync.store": ("Store", "head_revision", "open_store", "schema_revision"),
    "territory.sync.upsert": ("UpsertOutcome",),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'territory.sync' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from territory.sync.engine import SYNC_ORDER, KindCounts, SyncSummary, run_sync
    from territory.sync.export import EXPORT_COLUMNS, iter_export_rows, write_csv, write_json
    from territory.sync.history import AppendOnlyViolation, HistoryEntry, OwnershipHistory
    from territory.sync.jobs import SYNC_LEASE, run_incremental_sync
    from territory.sync.lease import STORE_LEASE, LeaseBusy, Leases, store_lease
    from territory.sync.outbox import Outbox
    from territory.sync.scenarios import MoveInput, ScenarioExistsError, Scenarios
    from territory.sync.store import Store, head_revision, open_store, schema_revision
    from territory.sync.upsert import UpsertOutcome
