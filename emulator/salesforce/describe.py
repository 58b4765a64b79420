"""``describe`` bodies from the schema registry: full field metadata and child relationships.

Clients build queries from describe (jsforce ``find`` expands ``Owner.*`` through
``referenceTo``/``relationshipName``), so every field carries the keys the real API sends.
"""

from __future__ import annotations

from typing import Any

from territory.emulator.salesforce_objects import SObjectDef
from territory.emulator.state import sf_id
from territory.emulator.store import FieldDef

_SOAP = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
         "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
         "date": "xsd:date", "datetime": "xsd:dateTime", "anyType": "xsd:anyType", "base64": "xsd:base64Binary"}
_CHILD_NAMES = {("Contact", "AccountId"): "Contacts", ("Opportunity", "AccountId"): "Opportunities",
                ("Task", "WhatId"): "Tasks", ("Task", "WhoId"): "Tasks", ("Account", "ParentId"): "ChildAccounts"}


def object_summary(sobject: SObjectDef, version: str, *, writable: bool, visible: bool = True) -> dict[str, Any]:
    """The global-describe entry of an object."""
    obj = sobject.schema
    base = f"/services/data/v{version}/sobjects/{sobject.name}"
    creatable = writable and sobject.factory is not None
    return {
        "name": sobject.name, "label": obj.label if obj else sobject.name,
        "labelPlural": obj.plural_label if obj else sobject.name + "s",
        "keyPrefix": sf_id(sobject.kind, 0)[:3], "custom": bool(obj and obj.custom),
        "queryable": visible, "retrieveable": visible, "searchable": visible, "createable": creatable,
        "updateable": writable and bool(sobject.writers), "deletable": creatable, "layoutable": creatable,
        "triggerable": creatable, "activateable": False, "feedEnabled": False, "replicateable": visible,
        "urls": {"sobject": base, "describe": base + "/describe", "rowTemplate": base + "/{ID}"},
    }


def describe(sobject: SObjectDef, defs: dict[str, SObjectDef], version: str, *, writable: bool) -> dict[str, Any]:
    """The ``/sobjects/{Type}/describe`` body."""
    body = object_summary(sobject, version, writable=writable)
    body["fields"] = [_field(sobject, name, writable) for name in sobject.getters if not name.startswith("__")]
    body["childRelationships"] = _children(sobject, defs)
    body["recordTypeInfos"] = []
    return body


def _field(sobject: SObjectDef, name: str, writable: bool) -> dict[str, Any]:
    f = sobject.schema.field(name) if sobject.schema is not None else None
    if f is None:
        f = FieldDef(name, "datetime" if name.endswith("Date") else "string", createable=False, updateable=False)
    in_writers = name in sobject.writers
    name_field = name == "Name"
    return {
        "name": f.name, "label": f.label, "type": f.type, "soapType": _SOAP.get(f.type, "xsd:string"),
        "length": f.length, "byteLength": f.length * 3, "precision": f.precision, "scale": f.scale,
        "digits": f.precision if f.type == "int" else 0,
        "nillable": not f.required and f.type not in ("id", "boolean") and not name_field,
        "createable": writable and in_writers and f.createable, "updateable": writable and in_writers and f.updateable,
        "custom": f.custom, "externalId": f.external_id, "unique": f.unique,
        "idLookup": f.type == "id" or f.external_id or (name_field and sobject.name == "User"),
        "nameField": name_field, "autoNumber": bool(f.extra.get("auto_number")), "calculated": False,
        "referenceTo": list(f.reference_to), "relationshipName": f.relationship_name,
        "relationshipOrder": None, "cascadeDelete": False, "restrictedDelete": False,
        "picklistValues": [{"value": p.value, "label": p.label, "active": p.active, "defaultValue": p.default,
                            "validFor": None} for p in f.picklist],
        "restrictedPicklist": f.restricted, "dependentPicklist": False, "defaultValue": None,
        "defaultedOnCreate": f.type == "boolean" or name in ("OwnerId", "CreatedById", "LastModifiedById"),
        "filterable": f.type not in ("textarea", "anyType"), "sortable": f.type not in ("textarea", "anyType"),
        "groupable": f.type not in ("textarea", "anyType", "double", "datetime", "currency"),
        "inlineHelpText": f.description or None, "deprecatedAndHidden": False, "htmlFormatted": False,
        "encrypted": False, "caseSensitive": False, "namePointing": len(f.reference_to) > 1,
        "polymorphicForeignKey": len(f.reference_to) > 1, "writeRequiresMasterRead": False,
    }


def _children(sobject: SObjectDef, defs: dict[str, SObjectDef]) -> list[dict[str, Any]]:
    out = []
    for child in defs.values():
        if child.schema is None:
            continue
        for f in child.schema.fields.values():
            if f.type != "reference" or sobject.name not in f.reference_to or f.name in ("CreatedById", "LastModifiedById"):
                continue
            history = child.schema.extra.get("history_of") == sobject.name
            name = "Histories" if history else f.extra.get("child_relationship") or _CHILD_NAMES.get(
                (child.name, f.name), child.schema.plural_label.replace(" ", "") if not child.schema.custom
                else child.name[:-3] + "s__r")
            out.append({"childSObject": child.name, "field": f.name, "relationshipName": name,
                        "cascadeDelete": history, "restrictedDelete": False, "deprecatedAndHidden": False,
                        "junctionIdListNames": [], "junctionReferenceTo": []})
    return out
