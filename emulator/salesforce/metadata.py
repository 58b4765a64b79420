"""Schema at install time: the Metadata API (SOAP) and Tooling ``CustomField`` over the registry.

``createMetadata``/``upsertMetadata``/``readMetadata``/``deleteMetadata`` for CustomObject,
CustomField, and (stored and read back) ListView, PermissionSet, CustomPermission and
ValidationRule. A PermissionSet component also becomes ``PermissionSet``,
``FieldPermissions`` and ``ObjectPermissions`` records, as a deploy would create them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from territory.emulator.salesforce.metadata_xml import as_list, truthy
from territory.emulator.salesforce.standard import add_history, audit_fields, ref
from territory.emulator.state import SF_PREFIX, CrmState, register_prefix
from territory.emulator.store import FieldDef, ObjectDef, PicklistValue, SchemaError
from territory.emulator.store.schema import custom_key_prefix

_TYPES = {"Text": "string", "TextArea": "textarea", "LongTextArea": "textarea", "Html": "textarea",
          "Number": "double", "Checkbox": "boolean", "Date": "date", "DateTime": "datetime",
          "Picklist": "picklist", "MultiselectPicklist": "multipicklist", "Lookup": "reference",
          "MasterDetail": "reference", "Email": "email", "Url": "url", "Phone": "phone",
          "Currency": "currency", "Percent": "percent", "AutoNumber": "string"}
STORED_ONLY = ("ListView", "CustomPermission", "ValidationRule", "PermissionSet", "CustomTab", "Layout")
MAX_COMPONENTS = 10


def custom_object(state: CrmState, meta: dict[str, Any], *, replace: bool) -> ObjectDef:
    """Register a CustomObject component (with its nameField and any inline fields)."""
    name = meta.get("fullName", "")
    if not name.endswith("__c"):
        raise SchemaError("INVALID_NAME", f"custom object names end in __c: {name!r}")
    existing = state.schema.get("salesforce", name)
    if existing is not None and not replace:
        raise SchemaError("DUPLICATE_DEVELOPER_NAME", f"There is already an object named {name}")
    prefix = SF_PREFIX.get(name.lower()) or custom_key_prefix(name, set(SF_PREFIX.values()))
    obj = existing or ObjectDef(name, key_prefix=prefix, custom=True)
    obj.label = meta.get("label") or obj.label
    obj.plural_label = meta.get("pluralLabel") or obj.plural_label
    obj.enable_history = truthy(meta.get("enableHistory")) or (existing is not None and existing.enable_history)
    obj.enable_activities = truthy(meta.get("enableActivities"))
    obj.extra["metadata"] = meta
    if existing is None:
        for f in audit_fields():
            obj.add(f)
        obj.add(ref("OwnerId", "User", "Owner"))
    name_field = meta.get("nameField") or {}
    auto = name_field.get("type") == "AutoNumber"
    obj.add(FieldDef("Name", "string", name_field.get("label") or f"{obj.label} Name", 80,
                     createable=not auto, updateable=not auto,
                     extra={"auto_number": (name_field.get("displayFormat") or "A-{0}").split("{")[0]} if auto else {}))
    state.schema.add_object("salesforce", obj, replace=True)
    register_prefix(obj.kind, obj.key_prefix)
    for field_meta in as_list(meta.get("fields")):
        custom_field(state, {**field_meta, "fullName": f"{name}.{field_meta.get('fullName')}"}, replace=True)
    if obj.enable_history:
        add_history(state, obj)
    return obj


def custom_field(state: CrmState, meta: dict[str, Any], *, replace: bool) -> FieldDef:
    """Register a CustomField component ``Object.Field__c``."""
    object_name, _, name = str(meta.get("fullName", "")).partition(".")
    obj = state.schema.get("salesforce", object_name)
    if obj is None:
        raise SchemaError("INVALID_CROSS_REFERENCE_KEY", f"no object named {object_name}")
    if not name.endswith("__c"):
        raise SchemaError("INVALID_NAME", f"custom field names end in __c: {name!r}")
    kind = meta.get("type") or "Text"
    if kind not in _TYPES:
        raise SchemaError("INVALID_TYPE", f"unsupported field type {kind}")
    value_set = meta.get("valueSet") or {}
    definition = value_set.get("valueSetDefinition") or {}
    picklist = [PicklistValue(str(v.get("fullName")), str(v.get("label") or v.get("fullName")), truthy(v.get("default")))
                for v in as_list(definition.get("value"))]
    length = int(meta.get("length") or (255 if kind in ("Text", "Picklist") else 0))
    if kind == "LongTextArea":
        length = int(meta.get("length") or 32768)
    reference_to = (str(meta["referenceTo"]),) if meta.get("referenceTo") else ()
    relationship = meta.get("relationshipName")
    f = FieldDef(
        name, _TYPES[kind], str(meta.get("label") or ""), length, reference_to=reference_to,
        relationship_name=name[:-3] + "__r" if reference_to else None, picklist=picklist,
        restricted=truthy(value_set.get("restricted")), external_id=truthy(meta.get("externalId")),
        unique=truthy(meta.get("unique")), track_history=truthy(meta.get("trackHistory")),
        required=truthy(meta.get("required")) or kind == "MasterDetail", custom=True,
        precision=int(meta.get("precision") or 0), scale=int(meta.get("scale") or 0),
        description=str(meta.get("inlineHelpText") or meta.get("description") or ""),
        extra={"metadata": meta, "child_relationship": f"{relationship}__r" if relationship else None},
    )
    state.schema.add_field("salesforce", obj.name, f, replace=replace)
    if f.track_history and not obj.enable_history and obj.custom:
        obj.enable_history = True
    if obj.enable_history:
        add_history(state, obj)
    return f


def read_component(state: CrmState, type_name: str, full_name: str) -> dict[str, Any] | None:
    """The stored metadata of a component, or None."""
    if type_name == "CustomObject":
        obj = state.schema.get("salesforce", full_name)
        return None if obj is None or not obj.custom else {"fullName": obj.name, **_without_name(obj.extra.get("metadata", {}))}
    if type_name == "CustomField":
        object_name, _, name = full_name.partition(".")
        obj = state.schema.get("salesforce", object_name)
        f = obj.field(name) if obj is not None else None
        return None if f is None or not f.custom else {"fullName": full_name, **_without_name(f.extra.get("metadata", {}))}
    stored = state.schema.metadata.get((type_name, full_name))
    return None if stored is None else {"fullName": full_name, **_without_name(stored)}


def _without_name(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k != "fullName"}


def delete_component(state: CrmState, type_name: str, full_name: str) -> bool:
    if type_name == "CustomObject":
        return state.schema.drop_object("salesforce", full_name)
    if type_name == "CustomField":
        object_name, _, name = full_name.partition(".")
        return state.schema.drop_field("salesforce", object_name, name)
    return state.schema.metadata.pop((type_name, full_name), None) is not None


def store_component(state: CrmState, type_name: str, meta: dict[str, Any], *, replace: bool,
                    grant: Callable[[dict[str, Any]], None]) -> None:
    """Keep a ListView/PermissionSet/… body; a PermissionSet is also granted (``grant``)."""
    key = (type_name, str(meta.get("fullName")))
    if key in state.schema.metadata and not replace:
        raise SchemaError("DUPLICATE_DEVELOPER_NAME", f"There is already a {type_name} named {key[1]}")
    if type_name == "ListView" and "." not in key[1]:
        raise SchemaError("INVALID_NAME", "a ListView's fullName is Object.ViewName")
    state.schema.metadata[key] = meta
    if type_name == "PermissionSet":
        grant(meta)
