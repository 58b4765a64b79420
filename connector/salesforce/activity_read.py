"""Tasks and Events per account, read incrementally for the report's activity counts.

``queryAll`` on SystemModstamp (deleted rows arrive with ``IsDeleted = true``). The account is
the activity's ``AccountId`` (Salesforce derives it from WhatId/WhoId), else a WhatId that is
an account. The day is ``ActivityDate``, else the day it was created. An org where Events are
not visible to the integration user (``INVALID_TYPE``) is read for Tasks only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from simple_salesforce import Salesforce, format_soql

from territory.connector.activity_log import ActivityChange, written_by_agent
from territory.connector.errors import FatalCrmError
from territory.connector.salesforce.mapping import parse_stamp

ACTIVITY_OBJECTS = ("Task", "Event")
ACTIVITY_FIELDS = ("Id", "AccountId", "WhatId", "ActivityDate", "CreatedDate", "SystemModstamp", "IsDeleted",
                   "Subject", "Description")
ACCOUNT_PREFIX = "001"
Call = Callable[[Callable[[Salesforce], Any], str], Any]


def activity_query(sobject: str, since: datetime | None) -> str:
    """Rows of ``sobject`` modified at or after ``since`` (all if None), oldest first."""
    where = format_soql(" WHERE SystemModstamp >= {}", since) if since is not None else ""
    return format_soql("SELECT {:literal} FROM {:literal}{:literal} ORDER BY SystemModstamp, Id",
                       ", ".join(ACTIVITY_FIELDS), sobject, where)


def to_change(sobject: str, row: dict[str, Any]) -> ActivityChange:
    """One Task/Event row in our vocabulary."""
    what = row.get("WhatId") or ""
    account = row.get("AccountId") or (what if str(what).startswith(ACCOUNT_PREFIX) else None)
    day_text = row.get("ActivityDate") or str(row.get("CreatedDate") or "")[:10]
    day = date.fromisoformat(day_text) if day_text else None
    return ActivityChange(
        id=f"{sobject}:{row['Id']}", account_id=account, day=day, modified_at=parse_stamp(row.get("SystemModstamp")),
        deleted=bool(row.get("IsDeleted")), by_agent=written_by_agent(row.get("Subject"), row.get("Description")),
    )


def iter_activity_changes(call: Call, since: datetime | None) -> Iterator[list[ActivityChange]]:
    """Pages of Task and Event changes since ``since``."""
    for sobject in ACTIVITY_OBJECTS:
        soql, what = activity_query(sobject, since), f"read {sobject} records"
        try:
            page = call(lambda sf: sf.query(soql, include_deleted=True), what)
        except FatalCrmError as exc:
            if sobject == "Event" and exc.code == "INVALID_TYPE":
                continue
            raise
        while True:
            yield [to_change(sobject, row) for row in page.get("records", [])]
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                break
            page = call(lambda sf: sf.query_more(next_url, identifier_is_url=True), what)


__all__ = ["ACTIVITY_FIELDS", "ACTIVITY_OBJECTS", "activity_query", "iter_activity_changes", "to_change"]
