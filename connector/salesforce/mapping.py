"""Salesforce rows (dicts from the REST API) to our records, and back for writes.

Mapping is strict about types: a value that is not what the field promises (a number
field holding text, a latitude out of range) raises :class:`MappingProblem`, and the reader
reports the record as skipped instead of storing a guess.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from territory.connector.records import AccountRecord, OpportunityRecord, OwnerRecord

MARKER = re.compile(r"\s*\[territory:(?P<key>[^\]]+)\]\s*\Z")


class MappingProblem(ValueError):
    """A row that cannot be translated; the message names the field and the value."""


def parse_stamp(value: Any) -> datetime:
    """``2024-01-01T12:34:56.000+0000`` to an aware datetime."""
    if not isinstance(value, str):
        raise MappingProblem(f"SystemModstamp is not a datetime: {value!r}")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise MappingProblem(f"SystemModstamp is not a datetime: {value!r}") from None


def website_domain(website: Any) -> str | None:
    """``https://www.Example.de/about`` -> ``example.de``; None when empty."""
    if not website or type(website) is not str:
        return None
    text = website.strip().lower()
    scheme = text.find("://")
    if scheme >= 0:
        text = text[scheme + 3 :]
    for separator in "/?#:":
        cut = text.find(separator)
        if cut >= 0:
            text = text[:cut]
    text = text.removeprefix("www.").strip(".")
    return text or None


def _number(row: dict[str, Any], field: str) -> float | None:
    value = row.get(field)
    kind = type(value)
    if kind is float or value is None:
        return value  # type: ignore[return-value]
    if kind is int:
        return float(value)  # type: ignore[arg-type]
    raise MappingProblem(f"{field} is not a number: {value!r}")


def _integer(row: dict[str, Any], field: str) -> int | None:
    value = row.get(field)
    kind = type(value)
    if kind is int or value is None:
        return value  # type: ignore[return-value]
    if kind is float and value == int(value):  # type: ignore[arg-type]
        return int(value)  # type: ignore[arg-type]
    raise MappingProblem(f"{field} is not a whole number: {value!r}")


def _coordinate(row: dict[str, Any], field: str, bound: float) -> float | None:
    value = _number(row, field)
    if value is not None and not -bound <= value <= bound:
        raise MappingProblem(f"{field} is out of range: {value!r}")
    return value


def _text(row: dict[str, Any], field: str) -> str | None:
    value = row.get(field)
    if type(value) is str:
        return value or None
    if value is None:
        return None
    raise MappingProblem(f"{field} is not text: {value!r}")


def map_owner(row: dict[str, Any], stamp: datetime, quota_field: str | None = None) -> OwnerRecord:
    """A Salesforce User row to an :class:`OwnerRecord` (users are deactivated, never deleted);
    ``quota_field`` names the User field holding the quarterly quota, if any."""
    return OwnerRecord(
        id=row["Id"],
        name=_text(row, "Name") or "",
        email=_text(row, "Email"),
        is_active=bool(row.get("IsActive")),
        modified_at=stamp,
        manager_id=row.get("ManagerId"),
        quota=quota_value(row, quota_field) if quota_field else None,
    )


def quota_value(row: dict[str, Any], quota_field: str) -> float | None:
    """The User's quota from ``quota_field`` (None when empty)."""
    quota = row.get(quota_field)
    if quota is None:
        return None
    if isinstance(quota, bool) or not isinstance(quota, int | float):
        raise MappingProblem(f"{quota_field} is not a number: {quota!r}")
    return float(quota)


def map_account(row: dict[str, Any], stamp: datetime) -> AccountRecord:
    """An Account row to an :class:`AccountRecord`; the domain is derived from Website."""
    name = _text(row, "Name")
    if name is None:
        raise MappingProblem("Name is empty")
    return AccountRecord(
        id=row["Id"],
        name=name,
        modified_at=stamp,
        owner_id=row.get("OwnerId"),
        domain=website_domain(row.get("Website")),
        country=_text(row, "BillingCountry"),
        postal_code=_text(row, "BillingPostalCode"),
        city=_text(row, "BillingCity"),
        lat=_coordinate(row, "BillingLatitude", 90.0),
        lon=_coordinate(row, "BillingLongitude", 180.0),
        industry=_text(row, "Industry"),
        employees=_integer(row, "NumberOfEmployees"),
        annual_revenue=_number(row, "AnnualRevenue"),
        parent_id=row.get("ParentId"),
        is_deleted=bool(row.get("IsDeleted")),
    )


def map_opportunity(row: dict[str, Any], stamp: datetime) -> OpportunityRecord:
    """An Opportunity row to an :class:`OpportunityRecord`."""
    close = row.get("CloseDate")
    try:
        close_date = date.fromisoformat(close) if close else None
    except (TypeError, ValueError):
        raise MappingProblem(f"CloseDate is not a date: {close!r}") from None
    created = row.get("CreatedDate")
    is_closed = bool(row.get("IsClosed"))
    return OpportunityRecord(
        id=row["Id"],
        name=_text(row, "Name") or "",
        modified_at=stamp,
        account_id=row.get("AccountId"),
        owner_id=row.get("OwnerId"),
        amount=_number(row, "Amount"),
        stage=_text(row, "StageName"),
        close_date=close_date,
        is_closed=is_closed,
        is_deleted=bool(row.get("IsDeleted")),
        created_at=parse_stamp(created) if created else None,
        is_won=bool(row.get("IsWon")) if is_closed else None,
    )


def subject_with_marker(subject: str, key: str | None, limit: int = 255) -> str:
    """Append ``[territory:KEY]`` to a Task subject, trimming the text so the marker survives."""
    if not key:
        return subject[:limit]
    marker = f" [territory:{key}]"
    return subject[: max(0, limit - len(marker))] + marker


def split_marker(subject: str) -> tuple[str, str | None]:
    """(subject without marker, key) from a Task subject."""
    found = MARKER.search(subject or "")
    if found is None:
        return subject or "", None
    return subject[: found.start()], found.group("key")
