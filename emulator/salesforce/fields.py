"""Getters and validating writers for schema-defined Salesforce fields (any object).

A writer turns a JSON value into ``{attr: native value}`` or raises
:class:`~territory.emulator.salesforce_objects.FieldProblem` with Salesforce's code, so the
same checks serve sObjects, Collections, upsert and UI edits.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from territory.emulator.salesforce_objects import FieldProblem, Getter, Writer
from territory.emulator.state import CrmState, parse_sf_id, sf_id
from territory.emulator.store import FieldDef

_NUMBER_TYPES = ("int", "double", "currency", "percent")
_TEXT_TYPES = ("string", "textarea", "email", "url", "phone", "picklist", "multipicklist")


def reference_kinds(state: CrmState, f: FieldDef) -> tuple[str, ...]:
    """State table kinds a lookup may point at (``User`` -> ``owner``)."""
    kinds = []
    for target in f.reference_to:
        obj = state.schema.get("salesforce", target)
        kinds.append(obj.kind if obj is not None else target.lower())
    return tuple(kinds)


def field_getter(state: CrmState, f: FieldDef, *, extension: bool = False) -> Getter:
    """Read ``f`` from a record (from the extension values on the older dataclass records)."""
    attr = f.attr
    if extension:
        def get_ext(rec: Any) -> Any:
            return state.store.extension.get((_kind_of(rec), rec.n), {}).get(attr)
        base = get_ext
    else:
        def get_value(rec: Any) -> Any:
            return rec.values.get(attr)
        base = get_value
    if f.type != "reference":
        return base
    kinds = reference_kinds(state, f)

    def get_ref(rec: Any) -> Any:
        value = base(rec)
        if value is None or isinstance(value, str):
            return value
        return sf_id(_target_kind(state, kinds, value), value)

    return get_ref


def _kind_of(rec: Any) -> str:
    kind = getattr(rec, "kind", None)
    if isinstance(kind, str):
        return kind
    return type(rec).__name__.removeprefix("Emu").lower()


def _target_kind(state: CrmState, kinds: tuple[str, ...], n: int) -> str:
    for kind in kinds:
        if n in state.table(kind):
            return kind
    return kinds[0] if kinds else "owner"


def field_writer(state: CrmState, f: FieldDef) -> Writer:
    """A validating writer for ``f`` (see module docstring)."""
    attr = f.attr

    def write(value: Any) -> dict[str, Any]:
        if value is None or (value == "" and f.type in _TEXT_TYPES):
            if f.required:
                raise FieldProblem("REQUIRED_FIELD_MISSING", "Required fields are missing: [field]")
            return {attr: None}
        return {attr: _convert(state, f, value)}

    return write


def _convert(state: CrmState, f: FieldDef, value: Any) -> Any:
    if f.type in _TEXT_TYPES:
        if not isinstance(value, str):
            raise FieldProblem("JSON_PARSER_ERROR", f"Cannot deserialize {value!r} as a string")
        if f.length and len(value) > f.length:
            raise FieldProblem("STRING_TOO_LONG", f"{f.label}: data value too large: {value[:40]} (max length={f.length})")
        if not f.allows(value):
            raise FieldProblem("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f"{f.label}: bad value for restricted picklist field: {value}")
        return value
    if f.type in _NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldProblem("JSON_PARSER_ERROR", f"Cannot deserialize {value!r} as a number")
        return int(value) if f.type == "int" else float(value)
    if f.type == "boolean":
        if not isinstance(value, bool):
            raise FieldProblem("JSON_PARSER_ERROR", f"Cannot deserialize {value!r} as a boolean")
        return value
    if f.type in ("date", "datetime"):
        return _moment(f.type, value)
    if f.type == "reference":
        return _reference(state, f, value)
    return value


def _moment(kind: str, value: Any) -> date | datetime:
    text = str(value)
    try:
        if kind == "date":
            return date.fromisoformat(text[:10])
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace("+0000", "+00:00"))
    except ValueError:
        raise FieldProblem("JSON_PARSER_ERROR", f"Cannot deserialize {value!r} as a {kind}") from None


def _reference(state: CrmState, f: FieldDef, value: Any) -> int:
    parsed = parse_sf_id(str(value))
    if parsed is None:
        raise FieldProblem("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}")
    kind, n = parsed
    target = state.table(kind).get(n) if kind in reference_kinds(state, f) else None
    if target is None or getattr(target, "deleted", False):
        raise FieldProblem("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {value}")
    if kind == "owner" and f.name == "OwnerId" and not target.is_active:
        raise FieldProblem("INACTIVE_OWNER_OR_USER", f"operation performed with inactive user [{value}] as owner")
    return n
