"""Schema at install time on the Salesforce emulator, through the real simple-salesforce client.

A custom object with fields and a history-tracked restricted picklist is created through the
Metadata API (``sf.mdapi``), then described, queried and upserted by external id (single
record and Collections) with the status codes Salesforce documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from territory.emulator import RunningEmulator, start_emulator
from territory.emulator.state import sf_id
from tests.emulator_support import salesforce_client

TOKEN = "schema-token"
OBJ = "Probe__c"


def client(emu: RunningEmulator, version: str = "59.0", token: str = TOKEN) -> Salesforce:
    return salesforce_client(emu, token, version)


def _create_probe_object(sf: Salesforce) -> None:
    md = sf.mdapi
    md.CustomObject.create([md.CustomObject(
        fullName=OBJ, label="Probe", pluralLabel="Probes", enableHistory=True, enableActivities=True,
        nameField=md.CustomField(label="Probe Name", type=md.FieldType("Text")),
        deploymentStatus=md.DeploymentStatus("Deployed"), sharingModel=md.SharingModel("ReadWrite"))])
    statuses = [md.CustomValue(fullName=s, label=s, default=s == "Proposed") for s in ("Proposed", "Approved", "Rejected")]
    md.CustomField.create([
        md.CustomField(fullName=f"{OBJ}.Key__c", label="Key", type=md.FieldType("Text"), length=40,
                       externalId=True, unique=True),
        md.CustomField(fullName=f"{OBJ}.Region__c", label="Region", type=md.FieldType("Text"), length=20,
                       externalId=True),
        md.CustomField(fullName=f"{OBJ}.Status__c", label="Status", type=md.FieldType("Picklist"), trackHistory=True,
                       valueSet=md.ValueSet(restricted=True, valueSetDefinition=md.ValueSetValuesDefinition(
                           sorted=False, value=statuses))),
        md.CustomField(fullName=f"{OBJ}.Score__c", label="Score", type=md.FieldType("Number"), precision=8, scale=2),
        md.CustomField(fullName=f"{OBJ}.Account__c", label="Account", type=md.FieldType("Lookup"),
                       referenceTo="Account", relationshipName="Probes", relationshipLabel="Probes",
                       deleteConstraint=md.DeleteConstraint("SetNull")),
    ])


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_emulator(accounts=6, seed=5, flavours=("salesforce",), token=TOKEN, provision_users=True) as running:
        _create_probe_object(client(running))
        yield running


def _account_id(sf: Salesforce) -> str:
    return str(sf.query("SELECT Id FROM Account ORDER BY Name LIMIT 1")["records"][0]["Id"])


def _integration_id(emu: RunningEmulator) -> str:
    return sf_id("owner", emu.state.integration_n or -1)


def test_new_object_is_described_with_full_field_metadata_when_created_through_metadata_api(emu: RunningEmulator) -> None:
    sf = client(emu)
    body: dict[str, Any] = sf.Probe__c.describe()
    fields = {f["name"]: f for f in body["fields"]}
    assert body["custom"] is True and body["createable"] is True
    assert {"Id", "Name", "OwnerId", "CreatedById", "LastModifiedById", "Key__c", "Status__c"} <= set(fields)
    assert (fields["Key__c"]["type"], fields["Key__c"]["length"], fields["Key__c"]["externalId"]) == ("string", 40, True)
    status = fields["Status__c"]
    assert status["type"] == "picklist" and status["restrictedPicklist"] is True
    assert [p["value"] for p in status["picklistValues"]] == ["Proposed", "Approved", "Rejected"]
    assert fields["Score__c"]["type"] == "double"
    lookup = fields["Account__c"]
    assert (lookup["type"], lookup["referenceTo"], lookup["relationshipName"]) == ("reference", ["Account"], "Account__r")
    children = {c["relationshipName"]: c["childSObject"] for c in sf.Account.describe()["childRelationships"]}
    assert children.get("Probes__r") == OBJ
    assert {"ParentId", "Field", "OldValue", "NewValue"} <= {f["name"] for f in sf.Probe__History.describe()["fields"]}


def test_upsert_by_external_id_creates_201_then_updates_200_when_called_twice(emu: RunningEmulator) -> None:
    sf = client(emu)
    created = sf.restful(f"sobjects/{OBJ}/Key__c/k-201", method="PATCH", json={"Name": "First", "Status__c": "Proposed"})
    assert created["created"] is True and created["success"] is True
    again = sf.restful(f"sobjects/{OBJ}/Key__c/k-201", method="PATCH", json={"Name": "Renamed"})
    assert again == {"id": created["id"], "success": True, "errors": [], "created": False}
    rows = sf.query(f"SELECT Id, Name, Key__c, Status__c FROM {OBJ} WHERE Key__c = 'k-201'")["records"]
    assert [(r["Id"], r["Name"], r["Status__c"]) for r in rows] == [(created["id"], "Renamed", "Proposed")]
    assert sf.Probe__c.get_by_custom_id("Key__c", "k-201")["Id"] == created["id"]


def test_upsert_answers_204_without_body_when_the_api_version_is_older_than_46(emu: RunningEmulator) -> None:
    old = client(emu, version="45.0")
    assert old.Probe__c.upsert("Key__c/k-old", {"Name": "Old"}) == 201
    assert old.Probe__c.upsert("Key__c/k-old", {"Name": "Old again"}) == 204


def test_upsert_answers_300_with_the_matches_when_the_external_id_is_not_unique(emu: RunningEmulator) -> None:
    sf = client(emu)
    first = sf.Probe__c.create({"Name": "A", "Region__c": "north"})["id"]
    second = sf.Probe__c.create({"Name": "B", "Region__c": "north"})["id"]
    with pytest.raises(SalesforceMoreThanOneRecord) as caught:
        sf.Probe__c.upsert("Region__c/north", {"Name": "C"})
    assert sorted(url.rsplit("/", 1)[1] for url in caught.value.content) == sorted([first, second])
    assert sf.query(f"SELECT COUNT() FROM {OBJ} WHERE Region__c = 'north'")["totalSize"] == 2


def test_upsert_answers_404_when_the_external_id_field_does_not_exist_or_update_only_finds_nothing(
    emu: RunningEmulator,
) -> None:
    sf = client(emu)
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Probe__c.upsert("Nope__c/x", {"Name": "x"})
    assert caught.value.content[0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful(f"sobjects/{OBJ}/Key__c/absent", method="PATCH", params={"updateOnly": "true"}, json={"Name": "x"})
    assert sf.query(f"SELECT COUNT() FROM {OBJ} WHERE Key__c = 'absent'")["totalSize"] == 0


def test_collection_upsert_reports_created_per_record_when_some_keys_exist(emu: RunningEmulator) -> None:
    sf = client(emu)
    sf.Probe__c.upsert("Key__c/c-1", {"Name": "exists"})
    records = [{"attributes": {"type": OBJ}, "Key__c": key, "Name": f"batch {key}", "Status__c": "Approved"}
               for key in ("c-1", "c-2", "c-3")]
    results = sf.restful(f"composite/sobjects/{OBJ}/Key__c", method="PATCH", json={"allOrNone": False, "records": records})
    assert [(r["success"], r["created"]) for r in results] == [(True, False), (True, True), (True, True)]
    names = {r["Key__c"]: r["Name"] for r in sf.query(f"SELECT Key__c, Name FROM {OBJ} WHERE Key__c LIKE 'c-%'")["records"]}
    assert names == {"c-1": "batch c-1", "c-2": "batch c-2", "c-3": "batch c-3"}


def test_restricted_picklist_refuses_an_unknown_value_when_written(emu: RunningEmulator) -> None:
    sf = client(emu)
    record_id = sf.Probe__c.create({"Name": "strict", "Status__c": "Proposed"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Probe__c.update(record_id, {"Status__c": "Maybe"})
    assert caught.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert sf.Probe__c.get(record_id)["Status__c"] == "Proposed"


def test_tracked_picklist_change_writes_a_history_row_by_the_integration_user_when_updated_through_the_api(
    emu: RunningEmulator,
) -> None:
    sf = client(emu)
    record_id = sf.Probe__c.create({"Name": "tracked", "Status__c": "Proposed", "Account__c": _account_id(sf)})["id"]
    sf.Probe__c.update(record_id, {"Status__c": "Approved"})
    rows = sf.query(f"SELECT ParentId, Field, OldValue, NewValue, CreatedById FROM Probe__History "
                    f"WHERE ParentId = '{record_id}' ORDER BY CreatedDate")["records"]
    assert [(r["Field"], r["OldValue"], r["NewValue"]) for r in rows] == [
        ("created", None, None), ("Status__c", "Proposed", "Approved")]
    assert {r["CreatedById"] for r in rows} == {_integration_id(emu)}
    record = sf.Probe__c.get(record_id)
    assert record["CreatedById"] == record["LastModifiedById"] == record["OwnerId"] == _integration_id(emu)


def test_relationship_query_reads_the_lookup_when_the_custom_object_points_at_an_account(emu: RunningEmulator) -> None:
    sf = client(emu)
    account = _account_id(sf)
    sf.Probe__c.create({"Name": "linked", "Account__c": account})
    rows = sf.query(f"SELECT Name, Account__r.Name FROM {OBJ} WHERE Account__c = '{account}' AND Name = 'linked'")["records"]
    assert rows[0]["Account__r"]["Name"] == sf.Account.get(account)["Name"]


def test_collection_retrieve_by_post_returns_records_in_order_and_null_for_unknown_ids(emu: RunningEmulator) -> None:
    sf = client(emu)
    ids = [r["Id"] for r in sf.query("SELECT Id FROM Account ORDER BY Name LIMIT 2")["records"]]
    unknown = sf_id("account", 987_654)
    got = sf.restful("composite/sobjects/Account", method="POST", json={"ids": [ids[1], unknown, ids[0]], "fields": ["Id", "Name"]})
    assert [r["Id"] if r else None for r in got] == [ids[1], None, ids[0]]
    assert set(got[0]) == {"attributes", "Id", "Name"}


def test_version_list_needs_no_session_and_resources_name_a_working_identity_url(emu: RunningEmulator) -> None:
    plain = requests.Session()
    plain.trust_env = False
    versions = plain.get(f"{emu.https_url}/services/data/", verify=str(emu.ca_file), timeout=10)
    assert versions.status_code == 200 and "59.0" in [v["version"] for v in versions.json()]
    resources = client(emu).restful("")
    identity = plain.get(resources["identity"], headers={"Authorization": f"Bearer {TOKEN}"},
                         verify=str(emu.ca_file), timeout=10)
    assert identity.status_code == 200
    assert identity.json()["user_id"] == _integration_id(emu)
    assert identity.json()["username"] == "integration@territory-sandbox.example"


def test_metadata_call_is_a_soap_fault_naming_invalid_session_when_the_session_is_bad(emu: RunningEmulator) -> None:
    sf = client(emu, token="not-a-session")
    with pytest.raises(Exception, match="INVALID_SESSION_ID"):
        sf.mdapi.CustomObject.read(OBJ)


def test_read_metadata_returns_the_object_and_a_duplicate_create_fails_when_the_object_exists(emu: RunningEmulator) -> None:
    sf = client(emu)
    read = sf.mdapi.CustomObject.read(OBJ)
    assert read.fullName == OBJ and read.label == "Probe"
    with pytest.raises(Exception, match="DUPLICATE_DEVELOPER_NAME"):
        _create_probe_object(sf)


def test_tooling_custom_field_and_query_see_each_other_when_a_field_is_added(emu: RunningEmulator) -> None:
    sf = client(emu)
    sf.toolingexecute("sobjects/CustomField", method="POST", json={
        "FullName": f"{OBJ}.Note__c", "Metadata": {"label": "Note", "type": "Text", "length": 60}})
    assert "Note__c" in {f["name"] for f in sf.Probe__c.describe()["fields"]}
    objects = sf.toolingexecute("query/", params={"q": "SELECT Id, DeveloperName FROM CustomObject WHERE DeveloperName = 'Probe'"})
    assert [r["DeveloperName"] for r in objects["records"]] == ["Probe"]
    found = sf.toolingexecute("query/", params={"q": "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField "
                                                      "WHERE DeveloperName = 'Note'"})
    assert [(r["DeveloperName"], r["TableEnumOrId"]) for r in found["records"]] == [("Note", objects["records"][0]["Id"])]


def test_upsert_metadata_keeps_an_existing_object_and_delete_metadata_drops_a_field_when_called(emu: RunningEmulator) -> None:
    sf = client(emu)
    md = sf.mdapi
    md.CustomField.upsert([md.CustomField(fullName=f"{OBJ}.Temp__c", label="Temp", type=md.FieldType("Text"), length=10)])
    md.CustomField.upsert([md.CustomField(fullName=f"{OBJ}.Temp__c", label="Temporary", type=md.FieldType("Text"), length=12)])
    fields = {f["name"]: f for f in sf.Probe__c.describe()["fields"]}
    assert (fields["Temp__c"]["label"], fields["Temp__c"]["length"]) == ("Temporary", 12)
    md.CustomField.delete([f"{OBJ}.Temp__c"])
    assert "Temp__c" not in {f["name"] for f in sf.Probe__c.describe()["fields"]}
    assert "Key__c" in {f["name"] for f in sf.Probe__c.describe()["fields"]}


def test_task_relates_to_a_custom_object_with_activities_and_not_to_one_without(emu: RunningEmulator) -> None:
    sf = client(emu)
    record_id = sf.Probe__c.create({"Name": "with activities"})["id"]
    owner = _integration_id(emu)
    task = sf.Task.create({"Subject": "Audit", "WhatId": record_id, "OwnerId": owner, "Status": "Completed"})["id"]
    rows = sf.query(f"SELECT Id, WhatId, Status FROM Task WHERE WhatId = '{record_id}'")["records"]
    assert [(r["Id"], r["WhatId"], r["Status"]) for r in rows] == [(task, record_id, "Completed")]
    pset = sf.PermissionSet.create({"Name": "No_Activities", "Label": "No activities"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Task.create({"Subject": "Nope", "WhatId": pset, "OwnerId": owner})
    assert caught.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_unique_field_refuses_a_taken_value_on_create_and_per_record_in_collections(emu: RunningEmulator) -> None:
    sf = client(emu)
    first = sf.Probe__c.create({"Name": "unique", "Key__c": "dup-1"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Probe__c.create({"Name": "again", "Key__c": "DUP-1"})
    assert caught.value.content[0]["errorCode"] == "DUPLICATE_VALUE" and first in caught.value.content[0]["message"]
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": [
        {"attributes": {"type": OBJ}, "Name": "fresh", "Key__c": "dup-2"},
        {"attributes": {"type": OBJ}, "Name": "taken", "Key__c": "dup-1"}]})
    assert [r["success"] for r in results] == [True, False]
    assert results[1]["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    assert sf.query(f"SELECT COUNT() FROM {OBJ} WHERE Key__c = 'dup-1'")["totalSize"] == 1
