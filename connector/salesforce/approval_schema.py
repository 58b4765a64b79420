"""What ``territory install`` puts into a Salesforce org, and how it is checked and removed.

- the custom object ``Territory_Reassignment__c`` (history and activities on) with its fields,
  created through the Metadata API (``sf.mdapi``, SOAP via zeep);
- the list view "Pending territory proposals" (Metadata API);
- the permission set ``Territory_Approver``, the only grant of Edit on the status field, and
  its assignments to the approvers (plain sObjects over REST).

Every step first looks at what exists (describe, SOQL, ``readMetadata``), so a second run
creates nothing; uninstall removes exactly these components.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from simple_salesforce import Salesforce, format_soql

from territory.connector.errors import CrmError, FatalCrmError
from territory.connector.proposals import STATUSES, InstallStep

OBJECT = "Territory_Reassignment__c"
HISTORY = "Territory_Reassignment__History"
LIST_VIEW = f"{OBJECT}.Pending_Territory_Proposals"
PERMISSION_SET = "Territory_Approver"
STATUS_FIELD = "Status__c"
KEY_FIELD = "Proposal_Key__c"

# (api name, label, type, extra metadata)
FIELDS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("Account__c", "Account", "Lookup", {"referenceTo": "Account", "relationshipName": "Territory_Proposals",
                                          "deleteConstraint": "SetNull"}),
    ("From_Owner__c", "From owner", "Lookup", {"referenceTo": "User", "relationshipName": "Proposals_Losing"}),
    ("To_Owner__c", "To owner", "Lookup", {"referenceTo": "User", "relationshipName": "Proposals_Gaining"}),
    ("Reason__c", "Reason", "LongTextArea", {"length": 32768, "visibleLines": 4}),
    ("Scenario__c", "Scenario", "Text", {"length": 200}),
    (KEY_FIELD, "Proposal key", "Text", {"length": 64, "externalId": True, "unique": True}),
    (STATUS_FIELD, "Status", "Picklist", {"trackHistory": True}),
    ("Decided_By__c", "Decided by", "Lookup", {"referenceTo": "User", "relationshipName": "Proposals_Decided"}),
    ("Decided_At__c", "Decided at", "DateTime", {}),
    ("Applied_At__c", "Applied at", "DateTime", {}),
    ("Error__c", "Error", "LongTextArea", {"length": 32768, "visibleLines": 3}),
    ("Agent_Note__c", "Note from territory-agent", "LongTextArea", {"length": 32768, "visibleLines": 3}),
)
LIST_COLUMNS = ("NAME", "Account__c", "From_Owner__c", "To_Owner__c", "Reason__c", STATUS_FIELD)

Call = Callable[[Callable[[Salesforce], Any], str], Any]
Metadata = Callable[[Callable[[Any], Any], str], Any]  # runs fn(sf.mdapi) with translated errors


class SalesforceApprovalSchema:
    """Install, check and uninstall the approval components of one org."""

    def __init__(self, call: Call, metadata: Metadata) -> None:
        self._call = call
        self._metadata = metadata

    # reading what exists ---------------------------------------------------------------------
    def described_fields(self) -> dict[str, dict[str, Any]] | None:
        """Field name -> describe entry of the proposal object, or None when it is missing."""
        try:
            described = self._call(lambda sf: sf.restful(f"sobjects/{OBJECT}/describe/"), f"describe {OBJECT}")
        except CrmError as exc:
            if exc.status == 404 or exc.code == "NOT_FOUND":
                return None
            raise
        return {f["name"]: f for f in (described or {}).get("fields", [])}

    def _list_view_exists(self) -> bool:
        try:
            found = self._metadata(lambda md: md.ListView.read([LIST_VIEW]), "read the list view")
        except FatalCrmError:
            return False
        return bool(getattr(found, "fullName", None))

    def _query(self, soql: str, what: str) -> list[dict[str, Any]]:
        return list(self._call(lambda sf: sf.query_all(soql), what).get("records", []))

    def permission_set_id(self) -> str | None:
        """Id of the approver permission set, if installed."""
        rows = self._query(format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", PERMISSION_SET),
                           "read the permission set")
        return rows[0]["Id"] if rows else None

    def approver_ids(self) -> set[str]:
        """Users holding the approver permission set."""
        ps = self.permission_set_id()
        if ps is None:
            return set()
        rows = self._query(format_soql("SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId = {}", ps),
                           "read approver assignments")
        return {r["AssigneeId"] for r in rows}

    # install ---------------------------------------------------------------------------------
    def install(self, *, dry_run: bool, approvers: Sequence[str]) -> list[InstallStep]:
        """Create whatever is missing; report every component."""
        steps = self._install_object(dry_run)
        steps.append(self._install_list_view(dry_run))
        steps.extend(self._install_permission_set(dry_run, approvers))
        return steps

    def _install_object(self, dry_run: bool) -> list[InstallStep]:
        fields = self.described_fields()
        steps: list[InstallStep] = []
        if fields is None:
            steps.append(InstallStep(OBJECT, "create", "custom object for reassignment proposals", not dry_run))
            if not dry_run:
                self._metadata(lambda md: md.CustomObject.create([_object(md)]), f"create {OBJECT}")
            fields = {}
        else:
            steps.append(InstallStep(OBJECT, "exists"))
        missing = [spec for spec in FIELDS if spec[0] not in fields]
        for name, _label, kind, _extra in FIELDS:
            action = "create" if name not in fields else "exists"
            steps.append(InstallStep(f"{OBJECT}.{name}", action, kind if action == "create" else "", action == "create" and not dry_run))
        if missing and not dry_run:
            for start in range(0, len(missing), 10):  # the Metadata API takes 10 per call
                batch = missing[start:start + 10]
                self._metadata(lambda md: md.CustomField.create([_field(md, spec) for spec in batch]), "create fields")
        return steps

    def _install_list_view(self, dry_run: bool) -> InstallStep:
        if self._list_view_exists():
            return InstallStep(LIST_VIEW, "exists")
        if not dry_run:
            self._metadata(lambda md: md.ListView.create([_list_view(md)]), "create the list view")
        return InstallStep(LIST_VIEW, "create", "list view 'Pending territory proposals'", not dry_run)

    def _install_permission_set(self, dry_run: bool, approvers: Sequence[str]) -> list[InstallStep]:
        ps = self.permission_set_id()
        steps: list[InstallStep] = []
        if ps is None:
            steps.append(InstallStep(PERMISSION_SET, "create", "permission set: Edit on the proposal status", not dry_run))
            if dry_run:
                return steps + [InstallStep(f"{PERMISSION_SET} -> {a}", "assign", "", False) for a in approvers]
            ps = self._create("PermissionSet", {"Name": PERMISSION_SET, "Label": "Territory approver"})
        else:
            steps.append(InstallStep(PERMISSION_SET, "exists"))
        steps.extend(self._grants(ps, dry_run))
        held = self.approver_ids()
        for user in approvers:
            if user in held:
                continue
            steps.append(InstallStep(f"{PERMISSION_SET} -> {user}", "assign", "approver", not dry_run))
            if not dry_run:
                self._create("PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": ps})
        return steps

    def _grants(self, ps: str, dry_run: bool) -> list[InstallStep]:
        field_rows = self._query(format_soql(
            "SELECT Id FROM FieldPermissions WHERE ParentId = {} AND Field = {}", ps, f"{OBJECT}.{STATUS_FIELD}"),
            "read field permissions")
        object_rows = self._query(format_soql(
            "SELECT Id FROM ObjectPermissions WHERE ParentId = {} AND SobjectType = {}", ps, OBJECT),
            "read object permissions")
        steps = []
        if not object_rows:
            steps.append(InstallStep(f"{PERMISSION_SET}: {OBJECT} read/edit", "create", "", not dry_run))
            if not dry_run:
                self._create("ObjectPermissions", {"ParentId": ps, "SobjectType": OBJECT, "PermissionsRead": True,
                                                   "PermissionsEdit": True, "PermissionsCreate": False,
                                                   "PermissionsDelete": False})
        if not field_rows:
            steps.append(InstallStep(f"{PERMISSION_SET}: edit {STATUS_FIELD}", "create", "", not dry_run))
            if not dry_run:
                self._create("FieldPermissions", {"ParentId": ps, "SobjectType": OBJECT,
                                                  "Field": f"{OBJECT}.{STATUS_FIELD}",
                                                  "PermissionsRead": True, "PermissionsEdit": True})
        return steps

    def _create(self, sobject: str, data: dict[str, Any]) -> str:
        created = self._call(lambda sf: getattr(sf, sobject).create(data), f"create {sobject}")
        return str(created["id"])

    # uninstall -------------------------------------------------------------------------------
    def uninstall(self, *, dry_run: bool) -> list[InstallStep]:
        """Remove the permission set (with its grants and assignments), list view and object."""
        steps: list[InstallStep] = []
        ps = self.permission_set_id()
        if ps is None:
            steps.append(InstallStep(PERMISSION_SET, "absent"))
        else:
            steps.append(InstallStep(PERMISSION_SET, "delete", "with its grants and assignments", not dry_run))
            if not dry_run:
                self._delete_permission_set(ps)
        if self._list_view_exists():
            steps.append(InstallStep(LIST_VIEW, "delete", "", not dry_run))
            if not dry_run:
                self._metadata(lambda md: md.ListView.delete([LIST_VIEW]), "delete the list view")
        else:
            steps.append(InstallStep(LIST_VIEW, "absent"))
        if self.described_fields() is None:
            steps.append(InstallStep(OBJECT, "absent"))
        else:
            steps.append(InstallStep(OBJECT, "delete", "custom object with its fields and records", not dry_run))
            if not dry_run:
                self._metadata(lambda md: md.CustomObject.delete([OBJECT]), f"delete {OBJECT}")
        return steps

    def _delete_permission_set(self, ps: str) -> None:
        for sobject, parent in (("PermissionSetAssignment", "PermissionSetId"), ("FieldPermissions", "ParentId"),
                                ("ObjectPermissions", "ParentId")):
            soql = format_soql("SELECT Id FROM {:literal} WHERE {:literal} = {}", sobject, parent, ps)
            for row in self._query(soql, f"read {sobject}"):
                self._call(lambda sf: getattr(sf, sobject).delete(row["Id"]), f"delete {sobject}")
        self._call(lambda sf: sf.PermissionSet.delete(ps), "delete the permission set")

    # doctor ----------------------------------------------------------------------------------
    def check(self) -> list[tuple[str, bool, str]]:
        """(check, passed, detail) for every installed component."""
        fix = "run `territory install`"
        fields = self.described_fields()
        if fields is None:
            return [(f"object {OBJECT}", False, f"missing: {fix}")]
        checks: list[tuple[str, bool, str]] = [(f"object {OBJECT}", True, "installed")]
        missing = [name for name, *_ in FIELDS if name not in fields]
        checks.append(("proposal fields", not missing,
                       "all present" if not missing else f"missing {', '.join(missing)} (someone deleted them): {fix}"))
        checks.append(("list view", self._list_view_exists(), f"{LIST_VIEW}" if self._list_view_exists() else f"missing: {fix}"))
        ps = self.permission_set_id()
        checks.append(("approver permission set", ps is not None, PERMISSION_SET if ps else f"missing: {fix}"))
        if ps is not None:
            held = self.approver_ids()
            checks.append(("approvers assigned", bool(held),
                           f"{len(held)} users hold {PERMISSION_SET}" if held else f"nobody holds it: {fix}"))
        return checks


def _object(md: Any) -> Any:
    return md.CustomObject(
        fullName=OBJECT, label="Territory reassignment", pluralLabel="Territory reassignments",
        nameField=md.CustomField(label="Proposal", type=md.FieldType("Text")),
        deploymentStatus=md.DeploymentStatus("Deployed"), sharingModel=md.SharingModel("ReadWrite"),
        enableHistory=True, enableActivities=True, enableReports=True,
        description="Account reassignments proposed by territory-agent; managers approve or reject them here.",
    )


def _field(md: Any, spec: tuple[str, str, str, dict[str, Any]]) -> Any:
    name, label, kind, extra = spec
    options: dict[str, Any] = dict(extra)
    if kind == "Picklist":
        values = [md.CustomValue(fullName=s, default=s == STATUSES[0], label=s) for s in STATUSES]
        options["valueSet"] = md.ValueSet(restricted=True, valueSetDefinition=md.ValueSetValuesDefinition(
            sorted=False, value=values))
    if "deleteConstraint" in options:
        options["deleteConstraint"] = md.DeleteConstraint(options["deleteConstraint"])
    return md.CustomField(fullName=f"{OBJECT}.{name}", label=label, type=md.FieldType(kind), **options)


def _list_view(md: Any) -> Any:
    return md.ListView(
        fullName=LIST_VIEW, label="Pending territory proposals", filterScope=md.FilterScope("Everything"),
        filters=[md.ListViewFilter(field=STATUS_FIELD, operation=md.FilterOperation("equals"), value="Proposed")],
        columns=list(LIST_COLUMNS),
    )
