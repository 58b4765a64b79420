"""Salesforce rows (dicts from the REST API) to our records, and back for writes.

Mapping is strict about types: a value that is not what the field promises (a number
field holding text, a latitude out of range) is never stored as a guess. In the id, name or
owner it raises :class:`MappingProblem` and the reader reports the record as skipped; in an
optional field the value is left empty and the reader reports the record as stored with a
warning.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from territory.connector.records import AccountRecord, OpportunityRecord, OwnerRecord


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


Problems = list[str] | None
"""Where a mapper notes optional fields it left empty (None: such a field raises)."""


def _optional(problems: Problems, read: Any, row: dict[str, Any], field: str, *args: Any) -> Any:
    """``read(row, field, *args)``; an unusable value becomes None, noted in ``problems``."""
    try:
        return read(row, field, *args)
    except MappingProblem as problem:
        if problems is None:
            raise
        problems.append(f"{problem} (stored empty)")
        return None


def map_owner(
    row: dict[str, Any], stamp: datetime, problems: Problems = None, quota_field: str | None = None
) -> OwnerRecord:
    """A Salesforce User row to an :class:`OwnerRecord` (users are deactivated, never deleted);
    ``quota_field`` names the User field holding the quarterly quota, if any."""
    return OwnerRecord(
        id=row["Id"],
        name=_text(row, "Name") or "",
        email=_optional(problems, _text, row, "Email"),
        is_active=bool(row.get("IsActive")),
        modified_at=stamp,
        manager_id=row.get("ManagerId"),
        quota=_optional(problems, quota_value, row, quota_field) if quota_field else None,
    )


def quota_value(row: dict[str, Any], quota_field: str) -> float | None:
    """The User's quota from ``quota_field`` (None when empty)."""
    quota = row.get(quota_field)
    if quota is None:
        return None
    if isinstance(quota, bool) or not isinstance(quota, int | float):
        raise MappingProblem(f"{quota_field} is not a number: {quota!r}")
    return float(quota)


def map_account(
    row: dict[str, Any], stamp: datetime, problems: Problems = None, visit_mode_field: str | None = None
) -> AccountRecord:
    """An Account row to an :class:`AccountRecord`; the domain is derived from Website and the
    visit mode read from ``visit_mode_field`` when one is configured.

    Id, Name and OwnerId must be usable; with ``problems`` given, any other unusable field
    is left empty and noted there instead of failing the whole record."""
    name = _text(row, "Name")
    if name is None:
        raise MappingProblem("Name is empty")
    owner = row.get("OwnerId")
    if owner is not None and type(owner) is not str:
        raise MappingProblem(f"OwnerId is not an id: {owner!r}")
    return AccountRecord(
        id=row["Id"],
        name=name,
        modified_at=stamp,
        owner_id=owner,
        domain=website_domain(row.get("Website")),
        country=_optional(problems, _text, row, "BillingCountry"),
        postal_code=_optional(problems, _text, row, "BillingPostalCode"),
        city=_optional(problems, _text, row, "BillingCity"),
        lat=_optional(problems, _coordinate, row, "BillingLatitude", 90.0),
        lon=_optional(problems, _coordinate, row, "BillingLongitude", 180.0),
        industry=_optional(problems, _text, row, "Industry"),
        employees=_optional(problems, _integer, row, "NumberOfEmployees"),
        annual_revenue=_optional(problems, _number, row, "AnnualRevenue"),
        parent_id=row.get("ParentId"),
        is_deleted=bool(row.get("IsDeleted")),
        visit_mode=_text(row, visit_mode_field) if visit_mode_field else None,
    )


def _close_date(row: dict[str, Any], field: str) -> date | None:
    close = row.get(field)
    try:
        return date.fromisoformat(close) if close else None
    except (TypeError, ValueError):
        raise MappingProblem(f"{field} is not a date: {close!r}") from None


def map_opportunity(row: dict[str, Any], stamp: datetime, problems: Problems = None) -> OpportunityRecord:
    """An Opportunity row to an :class:`OpportunityRecord` (amount, stage and close date are
    optional: see :func:`map_account`)."""
    created = row.get("CreatedDate")
    is_closed = bool(row.get("IsClosed"))
    return OpportunityRecord(
        id=row["Id"],
        name=_text(row, "Name") or "",
        modified_at=stamp,
        account_id=row.get("AccountId"),
        owner_id=row.get("OwnerId"),
        amount=_optional(problems, _number, row, "Amount"),
        stage=_optional(problems, _text, row, "StageName"),
        close_date=_optional(problems, _close_date, row, "CloseDate"),
        is_closed=is_closed,
        is_deleted=bool(row.get("IsDeleted")),
        created_at=_optional(problems, _created, row, "CreatedDate") if created else None,
        is_won=bool(row.get("IsWon")) if is_closed else None,
    )


def _created(row: dict[str, Any], field: str) -> datetime:
    try:
        return parse_stamp(row.get(field))
    except MappingProblem:
        raise MappingProblem(f"{field} is not a datetime: {row.get(field)!r}") from None
