"""Export what the store holds as CSV or JSON, in our vocabulary, with stable columns.

One row per non-deleted record (tombstones only on request), sorted by id. Timestamps are ISO
8601 in UTC, empty values are empty CSV cells / JSON null, owner teams are ``;``-joined in CSV.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from territory.sync.store import Store

EXPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "owners": ("id", "name", "email", "is_active", "manager_id", "teams", "modified_at", "crm"),
    "accounts": (
        "id", "name", "owner_id", "domain", "country", "postal_code", "city", "lat", "lon",
        "industry", "employees", "annual_revenue", "parent_id", "modified_at", "crm",
    ),
    "opportunities": (
        "id", "name", "account_id", "owner_id", "amount", "stage", "close_date", "is_closed",
        "modified_at", "crm", "created_at", "is_won",
    ),
}
"""Column order per kind: a contract for scripts that read the export (columns are only ever
appended: ``created_at`` and ``is_won`` came with the quarterly report)."""


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def iter_export_rows(
    store: Store, kind: str, *, crm: str | None = None, include_deleted: bool = False
) -> Iterator[dict[str, Any]]:
    """Rows of ``kind`` restricted to :data:`EXPORT_COLUMNS` (plus ``is_deleted`` if asked)."""
    columns = export_columns(kind, include_deleted=include_deleted)
    for row in store.iter_records(kind, crm=crm, include_deleted=include_deleted):
        yield {name: row[name] for name in columns}


def export_columns(kind: str, *, include_deleted: bool = False) -> tuple[str, ...]:
    """The exported columns of ``kind`` in order."""
    columns = EXPORT_COLUMNS[kind]
    return (*columns, "is_deleted") if include_deleted else columns


def write_csv(rows: Iterable[dict[str, Any]], columns: tuple[str, ...], out: TextIO) -> int:
    """Write a header and the rows; returns how many rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([_csv_value(row[c]) for c in columns])
        count += 1
    return count


def write_json(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Write a JSON array of objects (one per line, streamed); returns how many rows."""
    count = 0
    out.write("[")
    for row in rows:
        out.write(",\n" if count else "\n")
        out.write(json.dumps({k: _json_value(v) for k, v in row.items()}, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
