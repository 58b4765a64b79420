"""How the emulator's records look as Salesforce sObjects: fields, references, writes.

Each :class:`SObjectDef` maps Salesforce field names to getters over the state's records
(native Python values: datetimes, dates, floats, ...) and to writers that validate a JSON
value and turn it into attribute changes. Relationship fields (``Owner.Name``) resolve
through :data:`RELATIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from territory.emulator.state import (
    CrmState,
    EmuAccount,
    EmuActivity,
    EmuOpportunity,
    parse_sf_id,
    sf_id,
)

Getter = Callable[[Any], Any]
Writer = Callable[[Any], dict[str, Any]]
CLOSED_STAGES = {"Closed Won", "Closed Lost"}


class FieldProblem(Exception):
    """A per-field validation failure, spelled as Salesforce would."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None) -> None:
        self.code = code
        self.message = message
        self.fields = fields or []
        super().__init__(message)


DATETIME_FIELDS = {"CreatedDate", "LastModifiedDate", "SystemModstamp"}
DATE_FIELDS = {"CloseDate", "ActivityDate"}


def sf_datetime(value: datetime) -> str:
    """Salesforce's datetime spelling, ``2024-01-01T12:34:56.000+0000`` (always UTC)."""
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "+0000"


def json_value(value: Any) -> Any:
    """A getter's native value as it appears in a JSON response."""
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass
class SObjectDef:
    name: str
    kind: str
    getters: dict[str, Getter]
    writers: dict[str, Writer]
    required: tuple[str, ...] = ()
    include: Callable[[Any], bool] = lambda rec: True
    factory: Callable[[int], Any] | None = None
    relations: dict[str, tuple[str, str]] = field(default_factory=dict)  # Owner -> (User, owner_n)
    lower: dict[str, str] = field(default_factory=dict)
    schema: Any = None  # the registry's ObjectDef (territory.emulator.store.ObjectDef)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Refresh the case-insensitive name index after getters were added."""
        self.lower = {name.lower(): name for name in self.getters}

    def canonical(self, name: str) -> str | None:
        """The field's proper spelling (SOQL field names are case-insensitive)."""
        return self.lower.get(name.lower())


def _website(rec: EmuAccount) -> str | None:
    # Real data is messy: the same domain arrives with and without scheme, www and path.
    if not rec.domain:
        return None
    style = rec.n % 3
    if style == 0:
        return f"https://www.{rec.domain}"
    if style == 1:
        return rec.domain
    return f"http://{rec.domain}/about"


def _domain_from_website(value: Any) -> dict[str, Any]:
    if value is None:
        return {"domain": None}
    text = str(value).strip().lower()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    text = text.removeprefix("www.").split("/")[0]
    return {"domain": text or None}


def _sid(kind: str, n: int | None) -> str | None:
    return sf_id(kind, n) if n is not None else None


def _text(attr: str, limit: int = 255, required: bool = False) -> Writer:
    def write(value: Any) -> dict[str, Any]:
        if value is None or value == "":
            if required:
                raise FieldProblem("REQUIRED_FIELD_MISSING", "Required fields are missing: [field]")
            return {attr: None}
        if not isinstance(value, str):
            raise FieldProblem("JSON_PARSER_ERROR", f"Cannot deserialize {value!r} as a string")
        if len(value) > limit:
            raise FieldProblem("STRING_TOO_LONG", f"data value too large: {value[:40]}... (max length={limit})")
        return {attr: value}

    return write


def _number(attr: str, integer: bool = False) -> Writer:
    def write(value: Any) -> dict[str, Any]:
        if value is None:
            return {attr: None}
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldProblem("JSON_PARSER_ERROR", f"Cannot deserialize {value!r} as a number")
        return {attr: int(value) if integer else float(value)}

    return write


def _boolean(attr: str) -> Writer:
    def write(value: Any) -> dict[str, Any]:
        if not isinstance(value, bool):
            raise FieldProblem("JSON_PARSER_ERROR", f"Cannot deserialize {value!r} as a boolean")
        return {attr: value}

    return write


def _date(attr: str) -> Writer:
    def write(value: Any) -> dict[str, Any]:
        if value is None:
            return {attr: None}
        try:
            return {attr: date.fromisoformat(str(value))}
        except ValueError:
            raise FieldProblem("JSON_PARSER_ERROR", f"Cannot deserialize {value!r} as a date") from None

    return write


def _reference(state: CrmState, attr: str, kinds: tuple[str, ...], *, owner: bool = False) -> Writer:
    def write(value: Any) -> dict[str, Any]:
        if value is None:
            if owner:
                raise FieldProblem("REQUIRED_FIELD_MISSING", "Required fields are missing: [OwnerId]")
            return {attr: None}
        parsed = parse_sf_id(str(value))
        if parsed is None:
            raise FieldProblem("MALFORMED_ID", f"invalid id: {value}")
        kind, n = parsed
        target = state.table(kind).get(n) if kind in kinds else None
        if target is None or getattr(target, "deleted", False):
            raise FieldProblem("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {value}")
        if owner and not target.is_active:
            raise FieldProblem(
                "INACTIVE_OWNER_OR_USER", f"operation performed with inactive user [{value}] as owner"
            )
        return {attr: n}

    return write


def _stamps(getters: dict[str, Getter]) -> dict[str, Getter]:
    getters.update(
        CreatedDate=lambda r: r.created_at,
        LastModifiedDate=lambda r: r.modified_at,
        SystemModstamp=lambda r: r.modified_at,
        IsDeleted=lambda r: getattr(r, "deleted", False),
    )
    return getters


def _user(state: CrmState) -> SObjectDef:
    getters = _stamps({
        "Id": lambda r: sf_id("owner", r.n),
        "Name": lambda r: f"{r.first_name} {r.last_name}".strip(),
        "FirstName": lambda r: r.first_name,
        "LastName": lambda r: r.last_name,
        "Email": lambda r: r.email,
        "Username": lambda r: r.email,
        "IsActive": lambda r: r.is_active,
        "ManagerId": lambda r: _sid("owner", r.manager_n),
    })
    writers = {
        "FirstName": _text("first_name"), "LastName": _text("last_name", required=True),
        "Email": _text("email"), "IsActive": _boolean("is_active"),
        "ManagerId": _reference(state, "manager_n", ("owner",)),
    }
    return SObjectDef("User", "owner", getters, writers, relations={"Manager": ("User", "manager_n")})


def _account(state: CrmState) -> SObjectDef:
    getters = _stamps({
        "Id": lambda r: sf_id("account", r.n),
        "Name": lambda r: r.name,
        "OwnerId": lambda r: _sid("owner", r.owner_n),
        "ParentId": lambda r: _sid("account", r.parent_n),
        "Website": _website,
        "Industry": lambda r: r.industry,
        "AnnualRevenue": lambda r: r.annual_revenue,
        "NumberOfEmployees": lambda r: "n/a" if r.malformed else r.employees,
        "BillingCity": lambda r: r.city,
        "BillingPostalCode": lambda r: r.postal_code,
        "BillingCountry": lambda r: r.country,
        "BillingLatitude": lambda r: r.lat,
        "BillingLongitude": lambda r: r.lon,
        "BillingStreet": lambda r: r.street,
        "Phone": lambda r: r.phone,
        "Description": lambda r: r.description,
    })
    writers = {
        "Name": _text("name", required=True), "OwnerId": _reference(state, "owner_n", ("owner",), owner=True),
        "ParentId": _reference(state, "parent_n", ("account",)), "Website": _domain_from_website,
        "Industry": _text("industry"), "AnnualRevenue": _number("annual_revenue"),
        "NumberOfEmployees": _number("employees", integer=True), "BillingCity": _text("city"),
        "BillingPostalCode": _text("postal_code", 20), "BillingCountry": _text("country", 80),
        "BillingLatitude": _number("lat"), "BillingLongitude": _number("lon"),
        "BillingStreet": _text("street"), "Phone": _text("phone", 40), "Description": _text("description", 32000),
    }
    return SObjectDef(
        "Account", "account", getters, writers, required=("Name",),
        factory=lambda n: EmuAccount(n=n, name="", owner_n=None),
        relations={"Owner": ("User", "owner_n"), "Parent": ("Account", "parent_n")},
    )


def _opportunity(state: CrmState) -> SObjectDef:
    getters = _stamps({
        "Id": lambda r: sf_id("opportunity", r.n),
        "Name": lambda r: r.name,
        "AccountId": lambda r: _sid("account", r.account_n),
        "OwnerId": lambda r: _sid("owner", r.owner_n),
        "Amount": lambda r: r.amount,
        "StageName": lambda r: r.stage,
        "CloseDate": lambda r: r.close_date,
        "IsClosed": lambda r: r.is_closed,
        "IsWon": lambda r: r.is_closed and r.stage == "Closed Won",
    })

    def stage(value: Any) -> dict[str, Any]:
        changes = _text("stage", 40, required=True)(value)
        changes["is_closed"] = value in CLOSED_STAGES
        return changes

    writers = {
        "Name": _text("name", 120, required=True), "AccountId": _reference(state, "account_n", ("account",)),
        "OwnerId": _reference(state, "owner_n", ("owner",), owner=True), "Amount": _number("amount"),
        "StageName": stage, "CloseDate": _date("close_date"),
    }
    return SObjectDef(
        "Opportunity", "opportunity", getters, writers, required=("Name", "StageName", "CloseDate"),
        factory=lambda n: EmuOpportunity(n=n, name="", account_n=None, owner_n=None, amount=None,
                                         stage="Prospecting", close_date=date(2026, 1, 1)),
        relations={"Owner": ("User", "owner_n"), "Account": ("Account", "account_n")},
    )


def _what(state: CrmState) -> Writer:
    """``Task.WhatId``: an account (kept as the task's account) or a record of any other object
    with activities enabled (kept in ``extra["what"]``)."""
    def write(value: Any) -> dict[str, Any]:
        if value is None:
            return {"account_n": None, "extra": {"what": None}}
        parsed = parse_sf_id(str(value))
        if parsed is None:
            raise FieldProblem("MALFORMED_ID", f"invalid id: {value}")
        kind, n = parsed
        obj = next((o for o in state.schema.objects["salesforce"].values() if o.kind == kind), None)
        target = state.table(kind).get(n) if obj is not None else None
        if target is None or getattr(target, "deleted", False):
            raise FieldProblem("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {value}")
        if not obj.enable_activities:  # type: ignore[union-attr]
            raise FieldProblem("FIELD_INTEGRITY_EXCEPTION", f"Related To ID: id value of incorrect type: {value}")
        if kind == "account":
            return {"account_n": n, "extra": {"what": None}}
        return {"account_n": None, "extra": {"what": (kind, n)}}

    return write


def _task(state: CrmState) -> SObjectDef:
    getters = _stamps({
        "Id": lambda r: sf_id("task", r.n),
        "Subject": lambda r: r.subject,
        "Description": lambda r: r.body,
        "WhatId": lambda r: sf_id(*r.extra["what"]) if r.extra.get("what") else _sid("account", r.account_n),
        "AccountId": lambda r: _sid("account", r.account_n),  # read-only: derived from WhatId/WhoId
        "OwnerId": lambda r: _sid("owner", r.owner_n),
        "Status": lambda r: r.status,
        "ActivityDate": lambda r: r.extra.get("activity_date"),
        "Priority": lambda r: r.extra.get("priority", "Normal"),
        "IsClosed": lambda r: r.status == "Completed",
    })

    def extra(key: str, convert: Callable[[Any], Any]) -> Writer:
        return lambda value: {"extra": {key: convert(value)}}

    writers = {
        "Subject": _text("subject"), "Description": _text("body", 32000),
        "WhatId": _what(state),
        "OwnerId": _reference(state, "owner_n", ("owner",), owner=True),
        "Status": _text("status", 40),
        "ActivityDate": lambda v: {"extra": {"activity_date": _date("d")(v)["d"]}},
        "Priority": extra("priority", str),
    }
    return SObjectDef(
        "Task", "task", getters, writers, include=lambda r: r.kind == "task",
        factory=lambda n: EmuActivity(n=n, kind="task", account_n=None, owner_n=None, subject="", body=""),
        relations={"Owner": ("User", "owner_n"), "What": ("Account", "account_n")},
    )


stamp_getters = _stamps  # for sObjects defined in other modules (emulator/salesforce/notes.py)
text_writer = _text


def owner_reference(state: CrmState) -> Writer:
    """The ``OwnerId`` writer: an active user."""
    return _reference(state, "owner_n", ("owner",), owner=True)


def build_sobjects(state: CrmState) -> dict[str, SObjectDef]:
    """The sObjects the emulator serves, keyed by lower-cased API name."""
    defs = [_user(state), _account(state), _opportunity(state), _task(state)]
    return {d.name.lower(): d for d in defs}


def resolve_getter(defs: dict[str, SObjectDef], state: CrmState, sobject: SObjectDef, name: str) -> Getter | None:
    """Getter for a plain or one-level relationship field (``Owner.Name``); None if unknown."""
    if "." not in name:
        canonical = sobject.canonical(name)
        return sobject.getters[canonical] if canonical else None
    rel, _, target_field = name.partition(".")
    relation = next((v for k, v in sobject.relations.items() if k.lower() == rel.lower()), None)
    if relation is None or "." in target_field:
        return None
    target_def = defs.get(relation[0].lower())
    if target_def is None:
        return None
    canonical = target_def.canonical(target_field)
    if canonical is None:
        return None
    inner, attr, table = target_def.getters[canonical], relation[1], state.table(target_def.kind)

    def get(rec: Any) -> Any:
        target = table.get(attr(rec) if callable(attr) else getattr(rec, attr))
        return inner(target) if target is not None else None

    return get


def resolve_renderer(defs: dict[str, SObjectDef], state: CrmState, sobject: SObjectDef, name: str) -> Getter | None:
    """Like :func:`resolve_getter`, but yielding the JSON value (datetimes spelled out)."""
    get = resolve_getter(defs, state, sobject, name)
    canonical = sobject.canonical(name)
    if get is None or canonical is None:
        return None if get is None else (lambda rec: json_value(get(rec)))
    if canonical in DATETIME_FIELDS:
        return lambda rec: sf_datetime(get(rec))
    if canonical in DATE_FIELDS:
        return lambda rec: json_value(get(rec))
    return get


def apply_writes(sobject: SObjectDef, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Validate a record body; return attribute changes or raise :class:`FieldProblem`."""
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key in ("attributes", "Id", "id"):
            continue
        canonical = sobject.canonical(key)
        if canonical is None:
            raise FieldProblem("INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject.name}", [key])
        writer = sobject.writers.get(canonical)
        if writer is None:
            raise FieldProblem(
                "INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: {canonical}.", [canonical]
            )
        try:
            update = writer(value)
        except FieldProblem as problem:
            problem.fields = [canonical]
            problem.message = problem.message.replace("[field]", f"[{canonical}]")
            raise
        for merged in ("extra", "extension"):
            if merged in update and merged in changes:
                changes[merged].update(update.pop(merged))
        changes.update(update)
    if creating:
        missing = [f for f in sobject.required if f not in {sobject.canonical(k) for k in body}]
        if missing:
            raise FieldProblem("REQUIRED_FIELD_MISSING", f"Required fields are missing: {missing}", missing)
    return changes
