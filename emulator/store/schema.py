"""The schema registry: objects and fields that can grow while the emulator runs.

One :class:`Schema` per emulator describes every object both CRM views serve: the standard
objects (registered at start) and whatever an install adds at run time (Salesforce custom
objects and fields through the Metadata or Tooling API, HubSpot properties). Each CRM's view
reads the same :class:`FieldDef` for describe / ``crm/v3/properties`` and for validation.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass, field
from typing import Any

# Salesforce describe types; HubSpot's (type, fieldType) are derived in the HubSpot view.
FIELD_TYPES = (
    "id", "string", "textarea", "picklist", "multipicklist", "reference", "boolean", "int",
    "double", "currency", "percent", "date", "datetime", "email", "url", "phone", "anyType", "base64",
)


class SchemaError(ValueError):
    """A schema change the CRM would refuse; ``code`` is the vendor's status code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class PicklistValue:
    value: str
    label: str
    default: bool = False
    active: bool = True


@dataclass
class FieldDef:
    """One field (Salesforce) / property (HubSpot) of an object.

    ``attr`` is where the value lives on the record (defaults to ``name``); ``reference_to``
    lists the target objects of a lookup and ``relationship_name`` its relationship.
    """

    name: str
    type: str = "string"
    label: str = ""
    length: int = 0
    attr: str = ""
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist: list[PicklistValue] = field(default_factory=list)
    restricted: bool = False
    external_id: bool = False
    unique: bool = False
    track_history: bool = False
    required: bool = False
    createable: bool = True
    updateable: bool = True
    custom: bool = False
    precision: int = 0
    scale: int = 0
    group: str = ""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # vendor-only metadata kept verbatim

    def __post_init__(self) -> None:
        self.attr = self.attr or self.name
        self.label = self.label or self.name.removesuffix("__c").replace("_", " ")
        if self.type not in FIELD_TYPES:
            raise SchemaError("INVALID_TYPE", f"unknown field type {self.type!r}")

    def allows(self, value: Any) -> bool:
        """False when a restricted picklist does not list ``value`` (None is always allowed)."""
        if not self.restricted or value is None or self.type not in ("picklist", "multipicklist"):
            return True
        known = {p.value for p in self.picklist if p.active}
        return all(part in known for part in str(value).split(";"))


@dataclass
class ObjectDef:
    """One object: its fields, history and activity settings, and where its records live."""

    name: str
    label: str = ""
    plural_label: str = ""
    key_prefix: str = ""
    kind: str = ""  # the CrmState table kind; generic objects use the lower-cased name
    custom: bool = False
    enable_history: bool = False
    enable_activities: bool = False
    fields: dict[str, FieldDef] = field(default_factory=dict)  # lower-cased name -> def
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.kind = self.kind or self.name.lower()
        self.label = self.label or self.name.removesuffix("__c").replace("_", " ")
        self.plural_label = self.plural_label or self.label + "s"

    def add(self, f: FieldDef) -> FieldDef:
        self.fields[f.name.lower()] = f
        return f

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.lower())

    def tracked(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.track_history]


def custom_key_prefix(name: str, taken: set[str]) -> str:
    """A stable three-character key prefix ``a..`` for a custom object (free of ``taken``)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    seed = zlib.crc32(name.lower().encode())
    for step in range(36 * 36):
        code = (seed + step) % (36 * 36)
        prefix = "a" + alphabet[code // 36] + alphabet[code % 36]
        if prefix not in taken:
            return prefix
    raise SchemaError("LIMIT_EXCEEDED", "no custom object key prefix left")


class Schema:
    """Objects by CRM (``"salesforce"``/``"hubspot"``), each keyed by lower-cased name."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, ObjectDef]] = {"salesforce": {}, "hubspot": {}}
        self.groups: dict[str, dict[str, dict[str, Any]]] = {}  # HubSpot property groups per type
        self.metadata: dict[tuple[str, str], dict[str, Any]] = {}  # (type, fullName) -> stored body
        self.version = 0  # bumped on every change so views can rebuild lazily

    def get(self, crm: str, name: str) -> ObjectDef | None:
        return self.objects[crm].get(name.lower())

    def add_object(self, crm: str, obj: ObjectDef, *, replace: bool = False) -> ObjectDef:
        with self.lock:
            if not replace and obj.name.lower() in self.objects[crm]:
                raise SchemaError("DUPLICATE_DEVELOPER_NAME", f"There is already an object named {obj.name}")
            self.objects[crm][obj.name.lower()] = obj
            self.version += 1
            return obj

    def add_field(self, crm: str, object_name: str, f: FieldDef, *, replace: bool = False) -> FieldDef:
        with self.lock:
            obj = self.get(crm, object_name)
            if obj is None:
                raise SchemaError("INVALID_TYPE", f"no object {object_name}")
            if not replace and obj.field(f.name) is not None:
                raise SchemaError("DUPLICATE_DEVELOPER_NAME", f"There is already a field named {f.name} on {obj.name}")
            obj.add(f)
            self.version += 1
            return f

    def drop_object(self, crm: str, name: str) -> bool:
        with self.lock:
            self.version += 1
            return self.objects[crm].pop(name.lower(), None) is not None

    def drop_field(self, crm: str, object_name: str, name: str) -> bool:
        with self.lock:
            obj = self.get(crm, object_name)
            self.version += 1
            return obj is not None and obj.fields.pop(name.lower(), None) is not None

    def prefixes(self) -> set[str]:
        return {o.key_prefix for o in self.objects["salesforce"].values() if o.key_prefix}
