"""The emulator's records in a neutral vocabulary (both ids), and changes parsed from JSON.

Used by the control API (:mod:`emulator.control`) so tests, demos and the CLI can read and
edit the data without speaking either CRM's dialect. Field names follow
:mod:`connector.records` (``owner_id`` ...), with the emulator's record number ``n`` and both
CRM ids beside each reference (``owner_n``, ``owner_sf_id``, ``owner_hs_id``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from territory.emulator.state import (
    CrmState,
    EmuAccount,
    EmuActivity,
    EmuOpportunity,
    EmuOwner,
    hs_id,
    parse_sf_id,
    sf_id,
)

# URL kind (plural, as in connector.records.ObjectKind) -> state kind
KINDS = {"owners": "owner", "accounts": "account", "opportunities": "opportunity",
         "tasks": "task", "notes": "note"}
_REFERENCES = {"owner": "owner", "account": "account", "parent": "account", "manager": "owner"}
_CREATE_CLASSES = {"owner": EmuOwner, "account": EmuAccount, "opportunity": EmuOpportunity,
                   "task": EmuActivity, "note": EmuActivity}
_READ_ONLY = {"n", "created_at", "modified_at", "kind"}
_ALIASES = {"is_deleted": "deleted"}


def _field_names(kind: str) -> tuple[str, ...]:
    """The neutral field names of a kind's records (typed record fields plus stamps)."""
    first = ("kind",) if kind in ("task", "note") else ()
    last = () if kind == "owner" else ("deleted",)
    return (*first, *_CREATE_CLASSES[kind].FIELDS, "created_at", "modified_at", *last)


class RecordProblem(Exception):
    """A control request names an unknown record, kind or field; ``status`` is the HTTP code."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def state_kind(kind: str) -> str:
    """``"accounts"`` or ``"account"`` -> ``"account"``; RecordProblem(404) if unknown."""
    if kind in KINDS:
        return KINDS[kind]
    if kind in KINDS.values():
        return kind
    raise RecordProblem(404, f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")


def iso(moment: datetime | date | None) -> str | None:
    """Millisecond ISO-8601 in UTC with ``Z`` (dates as ``YYYY-MM-DD``)."""
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.isoformat()


def view(kind: str, record: Any) -> dict[str, Any]:
    """One record as a JSON-ready dict in the neutral vocabulary."""
    out: dict[str, Any] = {"kind": kind, "n": record.n, "sf_id": sf_id(kind, record.n),
                           "hs_id": hs_id(kind, record.n)}
    for name in _field_names(kind):
        value = getattr(record, name)
        if name.endswith("_n") and name[:-2] in _REFERENCES:
            ref = name[:-2]
            target = _REFERENCES[ref]
            out[f"{ref}_n"] = value
            out[f"{ref}_sf_id"] = sf_id(target, value) if value is not None else None
            out[f"{ref}_hs_id"] = hs_id(target, value) if value is not None else None
        elif name == "deleted":
            out["is_deleted"] = value
        elif isinstance(value, (datetime, date)):
            out[name] = iso(value)
        elif isinstance(value, list):
            out[name] = list(value)
        else:
            out[name] = value
    if isinstance(record, EmuOwner):
        out["name"] = f"{record.first_name} {record.last_name}"
        out["is_deleted"] = False
    return out


def find(state: CrmState, kind: str, ref: str | int) -> Any:
    """The record of ``kind`` that ``ref`` (n, Salesforce id or HubSpot id) names."""
    n = resolve_ref(kind, ref)
    record = state.table(kind).get(n)
    if record is None or (kind in ("task", "note") and record.kind != kind):
        raise RecordProblem(404, f"no {kind} {ref}")
    return record


def resolve_ref(kind: str, ref: str | int) -> int:
    """Record number for ``ref``: an int, a digit string (n / HubSpot id) or a Salesforce id."""
    if isinstance(ref, bool):
        raise RecordProblem(400, f"{ref!r} is not a valid {kind} id")
    if isinstance(ref, int):
        return ref
    text = str(ref).strip()
    if text.isdigit():
        return int(text)
    parsed = parse_sf_id(text)
    if parsed is None or parsed[0] != kind:
        raise RecordProblem(400, f"{ref!r} is not a valid {kind} id (use n, a HubSpot id or a Salesforce id)")
    return parsed[1]


def parse_changes(state: CrmState, kind: str, body: Any) -> dict[str, Any]:
    """Turn a JSON object in the neutral vocabulary into keyword changes for ``state.touch``.

    Accepts ``<ref>_id`` / ``<ref>_sf_id`` / ``<ref>_hs_id`` / ``<ref>_n`` for references
    (owner, account, parent, manager), ISO dates for ``close_date``, ``is_deleted``.
    """
    if not isinstance(body, dict):
        raise RecordProblem(400, "send a JSON object of field: value")
    allowed = set(_field_names(kind)) - _READ_ONLY
    changes: dict[str, Any] = {}
    for key, value in body.items():
        name = _ALIASES.get(key, key)
        ref = _reference_name(name)
        if ref is not None and f"{ref}_n" in allowed:
            target = _REFERENCES[ref]
            n = None if value is None else resolve_ref(target, value)
            if n is not None and n not in state.table(target):
                raise RecordProblem(400, f"{key}: no {target} {value}")
            changes[f"{ref}_n"] = n
        elif name in allowed:
            changes[name] = _coerce(name, value)
        else:
            raise RecordProblem(400, f"unknown or read-only field {key!r} for {kind}: use {', '.join(sorted(allowed))}")
    if kind == "opportunity" and "stage" in changes and "is_closed" not in changes:
        changes["is_closed"] = str(changes["stage"]).startswith("Closed")  # as Salesforce derives it
    return changes


def _reference_name(name: str) -> str | None:
    for suffix in ("_sf_id", "_hs_id", "_id", "_n"):
        if name.endswith(suffix) and name[: -len(suffix)] in _REFERENCES:
            return name[: -len(suffix)]
    return None


def _coerce(name: str, value: Any) -> Any:
    try:
        if value is None:
            return None
        if name == "close_date":
            return date.fromisoformat(str(value))
        if name in ("employees",):
            return int(value)
        if name in ("lat", "lon", "annual_revenue", "amount"):
            return float(value)
        if name in ("deleted", "is_active", "is_closed", "malformed"):
            if not isinstance(value, bool):
                raise ValueError("expected true or false")
            return value
        if name == "teams":
            return [str(v) for v in value]
        if name == "extra":
            return dict(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise RecordProblem(400, f"{name}: {value!r} is not valid ({exc})") from None
