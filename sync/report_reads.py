"""What the quarterly report needs beyond the synced records, read after every whole sync.

* Activity counts (:mod:`sync.activity`).
* Quotas: where the CRM holds one per rep (the Salesforce User field ``TERRITORY_QUOTA_FIELD``
  names), every rep's value is written into ``owners.quota``. Read whole each time: users are
  few, and a user whose record did not change since the field was named would never show up in
  an incremental read.

Both are by-products of the sync: when the CRM refuses them, the sync still succeeds and the
refusal is logged; the report keeps what was last read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import sqlalchemy as sa

from territory.connector.errors import CrmError
from territory.sync.activity import sync_activities
from territory.sync.store import Store
from territory.sync.tables import OwnerRow

log = logging.getLogger(__name__)


@runtime_checkable
class QuotaReader(Protocol):
    """A connector that can read every rep's quota from a CRM field."""

    def fetch_owner_quotas(self) -> dict[str, float | None] | None:
        """Rep id -> quota; None when no quota field is configured."""
        ...


def refresh_owner_quotas(connector: object, store: Store, crm: str) -> int | None:
    """Write every rep's CRM quota into the store; how many reps have one (None: not read)."""
    if not isinstance(connector, QuotaReader):
        return None
    try:
        quotas = connector.fetch_owner_quotas()
    except (CrmError, ValueError) as exc:  # ValueError: a value that is not a number
        log.warning("quotas not updated: %s", exc)
        return None
    if quotas is None:
        return None
    table: sa.Table = OwnerRow.__table__  # type: ignore[attr-defined]
    with store.transaction() as conn:
        conn.execute(sa.update(table).where(table.c.crm == crm).values(quota=None))
        for quota, ids in _by_value(quotas).items():
            conn.execute(sa.update(table).where(table.c.crm == crm, table.c.id.in_(ids)).values(quota=quota))
    return sum(1 for q in quotas.values() if q is not None)


def _by_value(quotas: dict[str, float | None]) -> dict[float, list[str]]:
    out: dict[float, list[str]] = {}
    for rep_id, quota in quotas.items():
        if quota is not None:
            out.setdefault(quota, []).append(rep_id)
    return out


def read_report_inputs(connector: object, store: Store, crm: str, *, full: bool,
                       on_page: Callable[[int, int], None] | None = None) -> None:
    """Activity counts and quotas, after a whole sync of ``crm``; ``on_page(read, pages)`` after
    each committed activity page (progress, lease renewal)."""
    sync_activities(connector, store, crm, full=full, on_page=on_page)
    refresh_owner_quotas(connector, store, crm)


__all__ = ["QuotaReader", "read_report_inputs", "refresh_owner_quotas"]
