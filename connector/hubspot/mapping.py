"""HubSpot objects (plain JSON dicts) -> our records, and our activity marker.

HubSpot sends every property as a string or null. A value we cannot read (``"n/a"`` in
``numberofemployees``) is never guessed: in an optional field it is left empty and the reader
reports the record as stored with a warning; otherwise :class:`MappingError` makes the reader
skip the record.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from territory.connector.markers import split_body_marker, split_marker
from territory.connector.records import (
    AccountRecord,
    ActivityRecord,
    OpportunityRecord,
    OwnerRecord,
)

COMPANY_PROPERTIES = [
    "name", "domain", "hubspot_owner_id", "country", "zip", "city", "industry",
    "numberofemployees", "annualrevenue", "hs_parent_company_id", "hs_lastmodifieddate",
    "territory_lat", "territory_lon",
]
DEAL_PROPERTIES = [
    "dealname", "amount", "dealstage", "closedate", "hubspot_owner_id", "hs_is_closed",
    "hs_lastmodifieddate", "pipeline", "createdate", "hs_is_closed_won",
]
WON_STAGE = "closedwon"  # the default pipeline's won stage, where hs_is_closed_won is absent
TASK_PROPERTIES = ["hs_task_subject", "hs_task_body", "hs_task_status", "hs_timestamp", "hubspot_owner_id"]
NOTE_PROPERTIES = ["hs_note_body", "hs_timestamp", "hubspot_owner_id"]
MODIFIED = "hs_lastmodifieddate"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)



class MappingError(ValueError):
    """A HubSpot value that does not fit our record."""


def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 (``...Z``) or ms-epoch string -> aware UTC datetime."""
    if value in (None, ""):
        return None
    text = str(value)
    if text.isdigit():  # integer arithmetic: floats would blur milliseconds
        return EPOCH + timedelta(milliseconds=int(text))
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def ms_epoch(moment: datetime) -> str:
    """The ms-epoch string search filters take for datetime properties."""
    return str((moment - EPOCH) // timedelta(milliseconds=1))


def record_time(obj: dict[str, Any]) -> datetime:
    """``hs_lastmodifieddate`` (falling back to ``updatedAt``) of a v3 object."""
    props = obj.get("properties") or {}
    try:
        stamp = parse_time(props.get(MODIFIED)) or parse_time(obj.get("updatedAt"))
    except ValueError as exc:
        raise MappingError(f"{MODIFIED} {props.get(MODIFIED)!r} is not a timestamp") from exc
    if stamp is None:
        raise MappingError(f"{MODIFIED} is missing")
    return stamp


def normalise_domain(value: str | None) -> str | None:
    """``https://WWW.Example.de/path`` -> ``example.de``; empty -> None."""
    if not value:
        return None
    text = value.strip().lower()
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    text = text.split("/", 1)[0].split("?", 1)[0].rstrip(".")
    if text.startswith("www."):
        text = text[4:]
    return text or None


def _number(props: dict[str, Any], name: str) -> float | None:
    raw = props.get(name)
    if raw in (None, ""):
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise MappingError(f"{name} {raw!r} is not a number") from None


def _text(props: dict[str, Any], name: str) -> str | None:
    raw = props.get(name)
    return None if raw in (None, "") else str(raw)


def _optional_number(props: dict[str, Any], name: str, problems: list[str] | None) -> float | None:
    """:func:`_number`, but an unusable value becomes None noted in ``problems`` (when given)."""
    try:
        return _number(props, name)
    except MappingError as exc:
        if problems is None:
            raise
        problems.append(f"{exc} (stored empty)")
        return None


def to_account(
    obj: dict[str, Any], problems: list[str] | None = None, visit_mode_property: str | None = None
) -> AccountRecord:
    """A v3 company -> :class:`AccountRecord` (archived ones as deleted; the visit mode from
    ``visit_mode_property`` when one is configured). With ``problems`` given, an unusable
    optional number is left empty and noted there."""
    props = obj.get("properties") or {}
    employees = _optional_number(props, "numberofemployees", problems)
    return AccountRecord(
        id=str(obj["id"]),
        name=_text(props, "name") or _text(props, "domain") or f"Company {obj['id']}",
        modified_at=record_time(obj),
        owner_id=_text(props, "hubspot_owner_id"),
        domain=normalise_domain(props.get("domain")),
        country=_text(props, "country"),
        postal_code=_text(props, "zip"),
        city=_text(props, "city"),
        lat=_optional_number(props, "territory_lat", problems),
        lon=_optional_number(props, "territory_lon", problems),
        industry=_text(props, "industry"),
        employees=None if employees is None else int(employees),
        annual_revenue=_optional_number(props, "annualrevenue", problems),
        parent_id=_text(props, "hs_parent_company_id"),
        is_deleted=bool(obj.get("archived")),
        visit_mode=_text(props, visit_mode_property) if visit_mode_property else None,
    )


def deal_company(obj: dict[str, Any]) -> str | None:
    """The first company of a deal listed with ``associations=companies``."""
    groups = obj.get("associations") or {}
    results = (groups.get("companies") or {}).get("results") or []
    return str(results[0]["id"]) if results else None


def to_opportunity(obj: dict[str, Any], account_id: str | None, problems: list[str] | None = None) -> OpportunityRecord:
    """A v3 deal -> :class:`OpportunityRecord` (unusable amount or close date: see :func:`to_account`)."""
    props = obj.get("properties") or {}
    try:
        close = parse_time(props.get("closedate"))
    except ValueError:
        if problems is None:
            raise MappingError(f"closedate {props.get('closedate')!r} is not a date") from None
        problems.append(f"closedate {props.get('closedate')!r} is not a date (stored empty)")
        close = None
    is_closed = str(props.get("hs_is_closed") or "false").lower() == "true"
    return OpportunityRecord(
        id=str(obj["id"]),
        name=_text(props, "dealname") or f"Deal {obj['id']}",
        modified_at=record_time(obj),
        account_id=account_id,
        owner_id=_text(props, "hubspot_owner_id"),
        amount=_optional_number(props, "amount", problems),
        stage=_text(props, "dealstage"),
        close_date=close.date() if close else None,
        is_closed=is_closed,
        is_deleted=bool(obj.get("archived")),
        created_at=_created_at(obj),
        is_won=_deal_won(props) if is_closed else None,
    )


def _created_at(obj: dict[str, Any]) -> datetime | None:
    """``createdate`` (falling back to ``createdAt``); None when unreadable."""
    value = (obj.get("properties") or {}).get("createdate") or obj.get("createdAt")
    try:
        return parse_time(value)
    except ValueError:
        return None


def _deal_won(props: dict[str, Any]) -> bool:
    """``hs_is_closed_won`` where HubSpot sends it, else whether the stage is the won stage."""
    flag = props.get("hs_is_closed_won")
    if flag not in (None, ""):
        return str(flag).lower() == "true"
    return str(props.get("dealstage") or "").lower() == WON_STAGE


def to_owner(obj: dict[str, Any]) -> OwnerRecord:
    """A v3 owner -> :class:`OwnerRecord`; archived owners are deactivated users."""
    first, last = obj.get("firstName") or "", obj.get("lastName") or ""
    name = f"{first} {last}".strip() or obj.get("email") or f"Owner {obj['id']}"
    teams = tuple(t.get("name") or str(t.get("id")) for t in obj.get("teams") or [])
    return OwnerRecord(
        id=str(obj["id"]),
        name=name,
        email=obj.get("email"),
        is_active=not obj.get("archived", False),
        modified_at=parse_time(obj.get("updatedAt")) or datetime(1970, 1, 1, tzinfo=UTC),
        teams=teams,
    )


def to_activity(obj: dict[str, Any], kind: str, account_id: str | None) -> ActivityRecord:
    """A task, or a note (its first line is the subject); the marker is parsed from the body."""
    props = obj.get("properties") or {}
    if kind == "task":
        subject, body, key = split_marker(props.get("hs_task_subject") or "", props.get("hs_task_body") or "")
        completed = props.get("hs_task_status") == "COMPLETED"
    else:
        first, _, rest = (props.get("hs_note_body") or "").partition("\n")
        subject, body, key = split_marker(first, rest)
        if key is None:  # the portal may have re-flowed the note as HTML onto one line
            _, key = split_body_marker(first)
        completed = True
    return ActivityRecord(id=str(obj["id"]), account_id=account_id, kind=kind, subject=subject,
                          body=body, completed=completed, external_key=key)
