"""SOQL the connector sends, always built with :func:`simple_salesforce.format_soql`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from simple_salesforce import format_soql

from territory.connector.records import ObjectKind, Record
from territory.connector.salesforce.mapping import map_account, map_opportunity, map_owner


@dataclass(frozen=True)
class ObjectSpec:
    """How one of our object kinds is read from Salesforce."""

    sobject: str
    fields: tuple[str, ...]
    mapper: Callable[[dict[str, Any], datetime, list[str]], Record]  # notes emptied optional fields
    has_is_deleted: bool = True


SPECS: dict[ObjectKind, ObjectSpec] = {
    ObjectKind.OWNERS: ObjectSpec(
        "User", ("Id", "Name", "Email", "IsActive", "ManagerId", "SystemModstamp"), map_owner, has_is_deleted=False
    ),
    ObjectKind.ACCOUNTS: ObjectSpec(
        "Account",
        (
            "Id", "Name", "OwnerId", "ParentId", "Website", "Industry", "AnnualRevenue", "NumberOfEmployees",
            "BillingCity", "BillingPostalCode", "BillingCountry", "BillingLatitude", "BillingLongitude",
            "SystemModstamp", "IsDeleted",
        ),
        map_account,
    ),
    ObjectKind.OPPORTUNITIES: ObjectSpec(
        "Opportunity",
        (
            "Id", "Name", "AccountId", "OwnerId", "Amount", "StageName", "CloseDate", "IsClosed", "IsWon",
            "CreatedDate", "SystemModstamp", "IsDeleted",
        ),
        map_opportunity,
    ),
}

def owner_spec(quota_field: str | None) -> ObjectSpec:
    """The User read, with the settings' quota field when one is named."""
    base = SPECS[ObjectKind.OWNERS]
    if not quota_field:
        return base
    return ObjectSpec(base.sobject, (*base.fields, quota_field), partial(map_owner, quota_field=quota_field),
                      has_is_deleted=False)


def quota_query(quota_field: str) -> str:
    """Every user's quota field (the settings' name, checked to be an identifier)."""
    return format_soql("SELECT Id, {:literal} FROM User ORDER BY Id", quota_field)


TASK_FIELDS = ("Id", "WhatId", "Subject", "Description", "Status", "IsClosed")


def changes_query(spec: ObjectSpec, since: datetime | None, *, closed_since: date | None = None) -> str:
    """Rows of ``spec`` changed at or after ``since`` (all rows if None), oldest first.

    ``closed_since`` keeps open rows and only those closed rows whose CloseDate is on or
    after it (a first opportunity read: open pipeline plus the last quarters' outcomes).

    Ordering by (SystemModstamp, Id) makes the stream deterministic, so a cursor of
    (last stamp, ids seen at that stamp) resumes it without gaps or duplicates.
    """
    conditions: list[str] = []
    if since is not None:
        conditions.append(format_soql("SystemModstamp >= {}", since))
    if closed_since is not None:
        conditions.append(format_soql("(IsClosed = {} OR CloseDate >= {})", False, closed_since))
    where = (" WHERE " + " AND ".join(conditions)) if conditions else ""
    return format_soql(
        "SELECT {:literal} FROM {:literal}{:literal} ORDER BY SystemModstamp, Id",
        ", ".join(spec.fields), spec.sobject, where,
    )


def tasks_query(account_ids: Sequence[str]) -> str:
    """Tasks attached to the given accounts (WhatId), oldest first."""
    return format_soql(
        "SELECT {:literal} FROM Task WHERE WhatId IN {} ORDER BY CreatedDate, Id",
        ", ".join(TASK_FIELDS), list(account_ids),
    )


def probe_query(sobject: str) -> str:
    """The cheapest query proving read access to ``sobject``."""
    return format_soql("SELECT Id FROM {:literal} LIMIT 1", sobject)
