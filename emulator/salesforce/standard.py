"""The standard Salesforce objects in the schema registry, registered when the API binds.

Account, Opportunity, User, Task and ContentNote keep their records in typed record classes; here
they get full field metadata (types, labels, lengths, references, picklists) for describe.
Contact, ContentDocumentLink, the permission objects and the history objects are wholly
schema-defined: their
records live in the generic store.
"""

from __future__ import annotations

from territory.emulator import _seed_words as words
from territory.emulator.state import SF_PREFIX, CrmState, register_prefix
from territory.emulator.store import FieldDef, ObjectDef, PicklistValue
from territory.emulator.store.schema import custom_key_prefix

INDUSTRIES = tuple(words.INDUSTRY_WEIGHTS)
STAGES = (*(s for s, _ in words.OPEN_STAGES), "Closed Won", "Closed Lost")


def _picklist(values: tuple[str, ...]) -> list[PicklistValue]:
    return [PicklistValue(v, v) for v in values]


def ref(name: str, target: str, relationship: str, *, attr: str = "", required: bool = False,
        track: bool = False) -> FieldDef:
    return FieldDef(name, "reference", length=18, attr=attr, reference_to=(target,),
                    relationship_name=relationship, required=required, track_history=track)


def audit_fields() -> list[FieldDef]:
    ro = {"createable": False, "updateable": False}
    return [
        FieldDef("Id", "id", "Record ID", 18, **ro),
        ref("CreatedById", "User", "CreatedBy"), ref("LastModifiedById", "User", "LastModifiedBy"),
        FieldDef("CreatedDate", "datetime", "Created Date", **ro),
        FieldDef("LastModifiedDate", "datetime", "Last Modified Date", **ro),
        FieldDef("SystemModstamp", "datetime", "System Modstamp", **ro),
        FieldDef("IsDeleted", "boolean", "Deleted", **ro),
    ]


def _object(name: str, prefix: str, fields: list[FieldDef], **kw: object) -> ObjectDef:
    obj = ObjectDef(name, key_prefix=prefix, **kw)  # type: ignore[arg-type]
    for f in [*audit_fields(), *fields]:
        if f.name in ("CreatedById", "LastModifiedById"):
            f.createable = f.updateable = False
        obj.add(f)
    return obj


def _legacy() -> list[ObjectDef]:
    s, n = "string", "double"
    return [
        _object("User", "005", [
            FieldDef("Name", s, "Full Name", 121, createable=False, updateable=False),
            FieldDef("FirstName", s, "First Name", 40), FieldDef("LastName", s, "Last Name", 80, required=True),
            FieldDef("Email", "email", "Email", 128), FieldDef("Username", s, "Username", 80),
            FieldDef("IsActive", "boolean", "Active"), ref("ManagerId", "User", "Manager"),
        ], kind="owner"),
        _object("Account", "001", [
            FieldDef("Name", s, "Account Name", 255, required=True),
            ref("OwnerId", "User", "Owner", track=True), ref("ParentId", "Account", "Parent"),
            FieldDef("Website", "url", "Website", 255),
            FieldDef("Industry", "picklist", "Industry", 255, picklist=_picklist(INDUSTRIES), track_history=True),
            FieldDef("AnnualRevenue", "currency", "Annual Revenue", precision=18),
            FieldDef("NumberOfEmployees", "int", "Employees", precision=8),
            FieldDef("BillingCity", s, "Billing City", 40), FieldDef("BillingPostalCode", s, "Billing Zip/Postal Code", 20),
            FieldDef("BillingCountry", s, "Billing Country", 80),
            FieldDef("BillingLatitude", n, "Billing Latitude", precision=18, scale=15),
            FieldDef("BillingLongitude", n, "Billing Longitude", precision=18, scale=15),
            FieldDef("BillingStreet", "textarea", "Billing Street", 255), FieldDef("Phone", "phone", "Account Phone", 40),
            FieldDef("Description", "textarea", "Account Description", 32000),
        ], kind="account", enable_history=True, enable_activities=True),
        _object("Opportunity", "006", [
            FieldDef("Name", s, "Name", 120, required=True), ref("AccountId", "Account", "Account"),
            ref("OwnerId", "User", "Owner"), FieldDef("Amount", "currency", "Amount", precision=18),
            FieldDef("StageName", "picklist", "Stage", 255, picklist=_picklist(STAGES), required=True),
            FieldDef("CloseDate", "date", "Close Date", required=True),
            FieldDef("IsClosed", "boolean", "Closed", createable=False, updateable=False),
            FieldDef("IsWon", "boolean", "Won", createable=False, updateable=False),
        ], kind="opportunity", enable_activities=True),
        _object("Task", "00T", [
            FieldDef("Subject", "picklist", "Subject", 255), FieldDef("Description", "textarea", "Description", 32000),
            FieldDef("WhatId", "reference", "Related To ID", 18, reference_to=("Account", "Opportunity"),
                     relationship_name="What"),
            ref("WhoId", "Contact", "Who"), ref("OwnerId", "User", "Owner"),
            FieldDef("Status", "picklist", "Status", 255, picklist=_picklist(("Not Started", "In Progress", "Completed"))),
            FieldDef("ActivityDate", "date", "Due Date Only"),
            FieldDef("Priority", "picklist", "Priority", 40, picklist=_picklist(("High", "Normal", "Low"))),
            FieldDef("IsClosed", "boolean", "Closed", createable=False, updateable=False),
        ], kind="task"),
        _object("ContentNote", "069", [
            FieldDef("Title", s, "Title", 255, required=True), FieldDef("Content", "base64", "Content"),
            FieldDef("TextPreview", s, "Text Preview", 255, createable=False, updateable=False),
            FieldDef("FileType", s, "File Type", 20, createable=False, updateable=False),
            ref("OwnerId", "User", "Owner"),
        ], kind="note"),
    ]


def _generic() -> list[ObjectDef]:
    s, b = "string", "boolean"
    perms = [FieldDef(f"Permissions{p}", b, f"{p} Permission") for p in
             ("Read", "Create", "Edit", "Delete", "ViewAllRecords", "ModifyAllRecords")]
    return [
        _object("Contact", "003", [
            FieldDef("FirstName", s, "First Name", 40, attr="first_name"),
            FieldDef("LastName", s, "Last Name", 80, attr="last_name", required=True),
            FieldDef("Name", s, "Full Name", 121, attr="name", createable=False, updateable=False),
            FieldDef("Email", "email", "Email", 80, attr="email"), FieldDef("Title", s, "Title", 128, attr="title"),
            FieldDef("Phone", "phone", "Business Phone", 40, attr="phone"),
            ref("AccountId", "Account", "Account", attr="account_n"),
            ref("OwnerId", "User", "Owner", attr="owner_n", track=True),
        ], enable_history=True, enable_activities=True),
        _object("ContentDocumentLink", "06A", [
            ref("ContentDocumentId", "ContentNote", "ContentDocument", required=True),
            FieldDef("LinkedEntityId", "reference", "Linked Entity ID", 18, required=True,
                     reference_to=("Account", "Opportunity", "Contact", "User"), relationship_name="LinkedEntity"),
            FieldDef("ShareType", "picklist", "Share Type", 40, picklist=_picklist(("V", "C", "I")), restricted=True),
            FieldDef("Visibility", "picklist", "Visibility", 40, restricted=True,
                     picklist=_picklist(("AllUsers", "InternalUsers", "SharedUsers")))]),
        _object("PermissionSet", "0PS", [
            FieldDef("Name", s, "Name", 80, required=True), FieldDef("Label", s, "Label", 80, required=True),
            FieldDef("Description", s, "Description", 255)]),
        _object("PermissionSetAssignment", "0Pa", [
            ref("AssigneeId", "User", "Assignee", required=True),
            ref("PermissionSetId", "PermissionSet", "PermissionSet", required=True)]),
        _object("FieldPermissions", "01k", [
            ref("ParentId", "PermissionSet", "Parent", required=True), FieldDef("SobjectType", s, "SObject Type Name", 40, required=True),
            FieldDef("Field", s, "Field Name", 100, required=True), perms[0], perms[2]]),
        _object("ObjectPermissions", "110", [
            ref("ParentId", "PermissionSet", "Parent", required=True),
            FieldDef("SobjectType", s, "SObject Type Name", 40, required=True), *perms]),
    ]


def history_object(parent: ObjectDef) -> ObjectDef:
    """``AccountHistory`` (``AccountId``) or ``X__History`` (``ParentId``) for ``parent``."""
    custom = parent.name.endswith("__c")
    name = parent.name[:-3] + "__History" if custom else parent.name + "History"
    parent_field = "ParentId" if custom else parent.name + "Id"
    ro = {"createable": False, "updateable": False}
    prefix = custom_key_prefix(name, set(SF_PREFIX.values())) if custom else "017"
    obj = _object(name, SF_PREFIX.get(name.lower(), prefix), [
        FieldDef(parent_field, "reference", "Parent ID", 18, reference_to=(parent.name,),
                 relationship_name="Parent" if custom else parent.name, **ro),
        FieldDef("Field", "picklist", "Changed Field", 255, **ro),
        FieldDef("DataType", "picklist", "Data Type", 40, **ro),
        FieldDef("OldValue", "anyType", "Old Value", **ro), FieldDef("NewValue", "anyType", "New Value", **ro),
    ], custom=custom)
    obj.extra.update(history_of=parent.name, parent_field=parent_field)
    obj.kind = name.lower()
    return obj


def register_standard(state: CrmState) -> None:
    """Put the standard objects (and their history objects) into the registry, once."""
    schema = state.schema
    with schema.lock:
        if schema.get("salesforce", "Account") is not None:
            return
        for obj in [*_legacy(), *_generic()]:
            schema.add_object("salesforce", obj)
            register_prefix(obj.kind, obj.key_prefix)
            if obj.enable_history:
                add_history(state, obj)


def add_history(state: CrmState, parent: ObjectDef) -> ObjectDef:
    """Register (or return) the history object of ``parent``."""
    history = history_object(parent)
    existing = state.schema.get("salesforce", history.name)
    if existing is not None:
        return existing
    state.schema.add_object("salesforce", history)
    register_prefix(history.kind, history.key_prefix)
    return history
