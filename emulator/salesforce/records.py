"""Salesforce sObject definitions over the schema registry, and the one write path.

:func:`build_sobjects_all` gives every object the registry holds an
:class:`~territory.emulator.salesforce_objects.SObjectDef`: the older dataclass-backed ones
(Account, Opportunity, User, Task) gain audit fields and any custom fields added at run
time; every other object (Contact, custom objects, permission and history objects) is served
generically from the record store. :func:`save` is the only way records change through the
Salesforce view: it stamps ``CreatedById``/``LastModifiedById`` and writes history rows for
tracked fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from territory.emulator.salesforce.fields import field_getter, field_writer
from territory.emulator.salesforce.notes import content_note, link_note
from territory.emulator.salesforce.standard import register_standard
from territory.emulator.salesforce_objects import (
    FieldProblem,
    SObjectDef,
    build_sobjects,
    json_value,
)
from territory.emulator.state import CrmState, sf_id
from territory.emulator.store import FieldDef, ObjectDef, Record

_AUDIT = ("CreatedById", "LastModifiedById")


def _audit_getters(state: CrmState, sobject: SObjectDef) -> None:
    kind = sobject.kind

    def who(attr: str) -> Any:
        def get(rec: Any) -> str | None:
            audit = state.store.who(getattr(rec, "kind", kind), rec.n)
            n = getattr(audit, attr)
            return sf_id("owner", n if n is not None else 0)
        return get

    sobject.getters.setdefault("CreatedById", who("created_by"))
    sobject.getters.setdefault("LastModifiedById", who("modified_by"))
    for rel, attr in (("CreatedBy", "created_by"), ("LastModifiedBy", "modified_by")):
        def user_n(rec: Any, attr: str = attr) -> int:
            n = getattr(state.store.who(getattr(rec, "kind", kind), rec.n), attr)
            return n if n is not None else 0
        sobject.relations.setdefault(rel, ("User", user_n))  # type: ignore[arg-type]


def generic_sobject(state: CrmState, obj: ObjectDef) -> SObjectDef:
    """An sObject served from the record store, its fields from the registry."""
    getters: dict[str, Any] = {
        "Id": lambda rec: sf_id(obj.kind, rec.n),
        "CreatedDate": lambda rec: rec.created_at,
        "LastModifiedDate": lambda rec: rec.modified_at,
        "SystemModstamp": lambda rec: rec.modified_at,
        "IsDeleted": lambda rec: rec.deleted,
    }
    writers: dict[str, Any] = {}
    relations: dict[str, tuple[str, str]] = {}
    for f in obj.fields.values():
        if f.name in getters or f.name in _AUDIT:
            continue
        getters[f.name] = field_getter(state, f)
        if f.createable or f.updateable:
            writers[f.name] = field_writer(state, f)
        if f.type == "reference" and f.relationship_name and f.reference_to:
            relations[f.relationship_name] = (f.reference_to[0], f.attr)
    writable = bool(writers)
    sobject = SObjectDef(
        obj.name, obj.kind, getters, writers,
        required=tuple(f.name for f in obj.fields.values() if f.required and f.createable),
        factory=(lambda n: Record(n=n, kind=obj.kind)) if writable else None,
        relations=relations, schema=obj,
    )
    _audit_getters(state, sobject)
    sobject.reindex()
    return sobject


def _extend_legacy(state: CrmState, sobject: SObjectDef, obj: ObjectDef) -> None:
    sobject.schema = obj
    for f in obj.fields.values():
        if f.custom and f.name not in sobject.getters:
            getter = field_getter(state, f, extension=True)
            sobject.getters[f.name] = getter
            write = field_writer(state, f)
            sobject.writers[f.name] = lambda value, write=write: {"extension": write(value)}
    _audit_getters(state, sobject)
    sobject.reindex()


def build_sobjects_all(state: CrmState) -> dict[str, SObjectDef]:
    """Every sObject the registry holds, keyed by lower-cased API name."""
    register_standard(state)
    defs = build_sobjects(state)
    defs["contentnote"] = content_note(state)
    for key, obj in state.schema.objects["salesforce"].items():
        if key in defs:
            _extend_legacy(state, defs[key], obj)
        else:
            defs[key] = generic_sobject(state, obj)
    return defs


def refresh(state: CrmState, defs: dict[str, SObjectDef]) -> None:
    """Rebuild ``defs`` in place after a schema change (query engines share the dict)."""
    fresh = build_sobjects_all(state)
    defs.clear()
    defs.update(fresh)


def default_actor(state: CrmState) -> int:
    """Who API calls act as: the integration user once provisioned (else the id ``005…0``)."""
    return state.integration_n if state.integration_n is not None else 0


def unique_problem(state: CrmState, sobject: SObjectDef, rec: Any | None, changes: dict[str, Any]) -> FieldProblem | None:
    """DUPLICATE_VALUE when ``changes`` give a unique field a value another live record holds
    (compared case-insensitively, as Salesforce does for unique text fields)."""
    obj = sobject.schema
    for f in obj.fields.values() if obj is not None else ():
        value = changes.get(f.attr, (changes.get("extension") or {}).get(f.attr)) if f.unique else None
        if value in (None, ""):
            continue
        get, wanted = sobject.getters[f.name], str(value).casefold()
        for other in state.table(sobject.kind).values():
            if other is not rec and not getattr(other, "deleted", False) and sobject.include(other) \
                    and str(get(other) or "").casefold() == wanted:
                return FieldProblem("DUPLICATE_VALUE", f"duplicate value found: {f.name} duplicates value on record "
                                    f"with id: {sf_id(sobject.kind, other.n)}", [f.name])
    return None


def save(state: CrmState, defs: dict[str, SObjectDef], sobject: SObjectDef, rec: Any | None,
         changes: dict[str, Any], actor: int) -> Any:
    """Create (``rec`` None) or update a record as ``actor``; history for tracked fields.
    Raises :class:`FieldProblem` DUPLICATE_VALUE for a taken unique value."""
    problem = unique_problem(state, sobject, rec, changes)
    if problem is not None:
        raise problem
    obj = sobject.schema
    tracked = obj.tracked() if obj is not None and obj.enable_history else []
    before = {f.name: sobject.getters[f.name](rec) for f in tracked} if rec is not None else {}
    extension = changes.pop("extension", None)
    with state.lock:
        stamp = state.tick()
        if rec is None:
            rec = _insert(state, sobject, changes, stamp, actor)
        elif type(rec) is Record:  # generic; typed records take the attribute path below
            rec.values.update(changes)
            rec.modified_at = stamp
        else:
            if "extra" in changes:
                changes["extra"] = {**rec.extra, **changes["extra"]}
            state.touch(rec, **changes)
            rec.modified_at = stamp
        kind = getattr(rec, "kind", sobject.kind)
        if extension:
            state.store.extension_values(kind, rec.n).update(extension)
        _derive(state, sobject, rec)
        state.store.stamp(kind, rec.n, actor, created=not before and rec.created_at == stamp)
        if obj is not None and obj.enable_history:
            _write_history(state, defs, sobject, rec, before, tracked, actor, stamp)
    return rec


def _insert(state: CrmState, sobject: SObjectDef, changes: dict[str, Any], stamp: datetime, actor: int) -> Any:
    if sobject.factory is None:
        raise FieldProblem("INSUFFICIENT_ACCESS_OR_READONLY", f"cannot create {sobject.name}")
    table = state.table(sobject.kind)
    n = state.next_n()
    while n in table:
        n = state.next_n()
    rec = sobject.factory(n)
    if type(rec) is Record:
        owner = sobject.schema.field("OwnerId") if sobject.schema is not None else None
        if owner is not None and owner.attr not in changes:
            changes = {owner.attr: actor, **changes}
        rec.values.update(changes)
        name = sobject.schema.field("Name") if sobject.schema is not None else None
        if name is not None and name.extra.get("auto_number") and name.attr not in changes:
            rec.values[name.attr] = f"{name.extra['auto_number']}{len(table) + 1:05d}"
    else:
        for key, value in changes.items():
            setattr(rec, key, value)
    rec.created_at = rec.modified_at = stamp
    table[n] = rec
    return rec


def _derive(state: CrmState, sobject: SObjectDef, rec: Any) -> None:
    if sobject.name == "ContentDocumentLink":
        link_note(state, rec)
    if sobject.name == "Contact":
        rec.values["name"] = " ".join(p for p in (rec.values.get("first_name"), rec.values.get("last_name")) if p)


def _write_history(state: CrmState, defs: dict[str, SObjectDef], sobject: SObjectDef, rec: Any,
                   before: dict[str, Any], tracked: list[FieldDef], actor: int, stamp: datetime) -> None:
    obj = sobject.schema
    history = next((o for o in state.schema.objects["salesforce"].values()
                    if o.extra.get("history_of") == obj.name), None)
    if history is None:
        return
    parent_attr = history.extra["parent_field"]
    rows: list[dict[str, Any]] = []
    if not before:
        rows.append({"Field": "created", "DataType": None, "OldValue": None, "NewValue": None})
    else:
        for f in tracked:
            old, new = before.get(f.name), sobject.getters[f.name](rec)
            if old == new:
                continue
            if f.type == "reference":
                rows.append({"Field": f.name.removesuffix("Id") if not f.custom else f.name, "DataType": "Text",
                             "OldValue": _name_of(state, defs, old), "NewValue": _name_of(state, defs, new)})
                rows.append({"Field": f.name.removesuffix("Id") if not f.custom else f.name,
                             "DataType": "EntityId", "OldValue": old, "NewValue": new})
            else:
                rows.append({"Field": f.name, "DataType": _data_type(f), "OldValue": json_value(old),
                             "NewValue": json_value(new)})
    for row in rows:
        n = state.next_n()
        state.store.insert(history.kind, n, {parent_attr: rec.n, **row}, stamp, actor)


def _name_of(state: CrmState, defs: dict[str, SObjectDef], record_id: Any) -> Any:
    if record_id is None:
        return None
    for sobject in defs.values():
        if str(record_id).startswith(sf_id(sobject.kind, 0)[:3]) and "Name" in sobject.getters:
            found = state.table(sobject.kind).get(int(str(record_id)[3:15]))
            return sobject.getters["Name"](found) if found is not None else record_id
    return record_id


def _data_type(f: FieldDef) -> str:
    return {"picklist": "Picklist", "boolean": "Boolean", "date": "Date", "datetime": "DateTime",
            "double": "Number", "int": "Number", "currency": "Currency"}.get(f.type, "Text")
