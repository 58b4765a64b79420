"""Users and who edited what, through the real clients: the integration user versus people
editing in the CRM's UI, field history, propertiesWithHistory and field-level permissions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from simple_salesforce import Salesforce

from territory.emulator import RunningEmulator, start_emulator
from territory.emulator.state import sf_id
from territory.emulator.ui import UiEditRefused
from tests.emulator_support import hubspot_client, salesforce_client

TOKEN = "users-token"


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_emulator(accounts=30, seed=11, token=TOKEN, provision_users=True) as running:
        yield running


def salesforce(emu: RunningEmulator) -> Salesforce:
    return salesforce_client(emu, TOKEN)


def hubspot(emu: RunningEmulator) -> HubSpot:
    return hubspot_client(emu, TOKEN)


def control(emu: RunningEmulator, method: str, path: str, **kw: Any) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.request(method, f"{emu.control_url}{path}", timeout=10, **kw)


def _users(emu: RunningEmulator) -> list[dict[str, Any]]:
    return control(emu, "GET", "/users").json()  # type: ignore[no-any-return]


def _by_role(emu: RunningEmulator, role: str) -> dict[str, Any]:
    return next(u for u in _users(emu) if u["role"] == role and u["is_active"])


def _reports_of(emu: RunningEmulator, manager: dict[str, Any]) -> list[dict[str, Any]]:
    return [u for u in _users(emu) if u["manager_n"] == manager["n"] and u["is_active"]]


def _account_of(sf: Salesforce, owner_sf_id: str) -> str:
    rows = sf.query(f"SELECT Id FROM Account WHERE OwnerId = '{owner_sf_id}' ORDER BY Name LIMIT 1")["records"]
    return str(rows[0]["Id"])


def test_integration_user_is_distinct_from_every_rep_and_absent_from_hubspot_owners_when_provisioned(
    emu: RunningEmulator,
) -> None:
    users = _users(emu)
    integration = [u for u in users if u["role"] == "integration"]
    assert len(integration) == 1 and integration[0]["email"] == "integration@territory-sandbox.example"
    assert {u["role"] for u in users} >= {"rep", "manager", "admin", "integration"}
    assert control(emu, "POST", "/users/provision").json()["integration"]["n"] == integration[0]["n"]  # idempotent
    assert len(_users(emu)) == len(users)
    sf_users = salesforce(emu).query("SELECT Id, ManagerId, Name FROM User")["records"]
    assert integration[0]["sf_id"] in {u["Id"] for u in sf_users}
    managers = {u["Id"]: u["ManagerId"] for u in sf_users}
    assert all(managers[u["sf_id"]] == u["manager_sf_id"] for u in users)
    owners = hubspot(emu).crm.owners.owners_api.get_page(limit=500).results
    assert integration[0]["n"] not in {int(o.id) for o in owners}
    assert all(o.user_id != int(o.id) for o in owners)
    assert all(o.teams for o in owners if int(o.id) != _by_role(emu, "admin")["n"])


def test_user_lookup_accepts_every_kind_of_reference_when_asked(emu: RunningEmulator) -> None:
    rep = _by_role(emu, "rep")
    for ref in (rep["n"], rep["sf_id"], rep["hs_user_id"], rep["email"]):
        assert control(emu, "GET", f"/users/{ref}").json()["n"] == rep["n"]
    assert control(emu, "GET", "/users/nobody@example.com").status_code == 404


def test_ui_owner_change_by_a_manager_writes_history_naming_the_manager_when_an_api_edit_names_the_integration_user(
    emu: RunningEmulator,
) -> None:
    sf = salesforce(emu)
    manager = _by_role(emu, "manager")
    rep = _reports_of(emu, manager)[0]
    integration = _by_role(emu, "integration")
    account = _account_of(sf, rep["sf_id"])
    answer = control(emu, "POST", f"/ui/salesforce/Account/{account}", json={"as": manager["email"], "set": {"OwnerId": manager["sf_id"]}})
    assert answer.status_code == 200 and answer.json()["changed"] == ["OwnerId"]
    assert sf.Account.get(account)["LastModifiedById"] == manager["sf_id"]
    sf.Account.update(account, {"Industry": "Retail"})
    assert sf.Account.get(account)["LastModifiedById"] == integration["sf_id"]
    rows = sf.query(f"SELECT Field, DataType, OldValue, NewValue, CreatedById FROM AccountHistory "
                    f"WHERE AccountId = '{account}' ORDER BY CreatedDate")["records"]
    owner_rows = [r for r in rows if r["Field"] == "Owner" and r["DataType"] == "EntityId"]
    assert [(r["OldValue"], r["NewValue"], r["CreatedById"]) for r in owner_rows] == [(rep["sf_id"], manager["sf_id"], manager["sf_id"])]
    industry_rows = [r for r in rows if r["Field"] == "Industry"]
    assert [(r["NewValue"], r["CreatedById"]) for r in industry_rows] == [("Retail", integration["sf_id"])]


def test_ui_edit_of_a_hubspot_property_is_crm_ui_with_the_users_id_when_an_api_edit_is_integration(
    emu: RunningEmulator,
) -> None:
    hs = hubspot(emu)
    manager = _by_role(emu, "manager")
    first = hs.crm.companies.basic_api.get_page(limit=1, properties=["industry"]).results[0]
    company, seeded = first.id, first.properties["industry"]
    hs.crm.companies.basic_api.update(company, {"properties": {"industry": "Logistics"}})
    answer = control(emu, "POST", f"/ui/hubspot/companies/{company}", json={"as": manager["email"], "set": {"industry": "Retail"}})
    assert answer.status_code == 200
    got = hs.crm.companies.basic_api.get_by_id(company, properties=["industry"], properties_with_history=["industry"])
    history = got.properties_with_history["industry"]
    assert [(h.value, h.source_type) for h in history] == [("Retail", "CRM_UI"), ("Logistics", "INTEGRATION")] + (
        [(seeded, "IMPORT")] if seeded else [])
    assert history[0].updated_by_user_id == manager["hs_user_id"] and history[0].source_id == f"userId:{manager['hs_user_id']}"
    assert history[1].updated_by_user_id is None
    assert history[0].timestamp > history[1].timestamp
    owner = hs.crm.owners.owners_api.get_by_id(str(history[0].updated_by_user_id), id_property="userId")
    assert owner.id == manager["hs_owner_id"] != str(owner.user_id)


def test_properties_with_history_arrives_on_list_pages_and_batch_read_when_asked(emu: RunningEmulator) -> None:
    hs = hubspot(emu)
    page = hs.crm.companies.basic_api.get_page(limit=3, properties=["industry"], properties_with_history=["industry"])
    assert all("industry" in c.properties_with_history for c in page.results)
    batch = hs.crm.companies.batch_api.read({"inputs": [{"id": c.id} for c in page.results], "properties": ["industry"],
                                             "propertiesWithHistory": ["industry"]})
    assert {c.id for c in batch.results} == {c.id for c in page.results}
    assert all(c.properties_with_history["industry"] for c in batch.results)


def _grant_edit(sf: Salesforce, user_sf_id: str, field: str) -> None:
    pset = sf.PermissionSet.create({"Name": "Rating_Editors", "Label": "Rating editors"})["id"]
    sf.FieldPermissions.create({"ParentId": pset, "SobjectType": "Account", "Field": field,
                                "PermissionsRead": True, "PermissionsEdit": True})
    sf.ObjectPermissions.create({"ParentId": pset, "SobjectType": "Account", "PermissionsRead": True,
                                 "PermissionsEdit": True})
    sf.PermissionSetAssignment.create({"AssigneeId": user_sf_id, "PermissionSetId": pset})


def test_ui_edit_of_a_field_without_edit_permission_is_refused_until_a_permission_set_grants_it(
    emu: RunningEmulator,
) -> None:
    sf = salesforce(emu)
    sf.toolingexecute("sobjects/CustomField", method="POST", json={
        "FullName": "Account.Rating__c", "Metadata": {"label": "Rating", "type": "Text", "length": 20, "trackHistory": True}})
    rep = _by_role(emu, "rep")
    account = _account_of(sf, rep["sf_id"])
    refused = control(emu, "POST", f"/ui/salesforce/Account/{account}", json={"as": rep["sf_id"], "set": {"Rating__c": "Hot"}})
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert refused.json()[0]["fields"] == ["Rating__c"]
    assert sf.Account.get(account)["Rating__c"] is None
    _grant_edit(sf, rep["sf_id"], "Account.Rating__c")
    granted = sf.query(f"SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE AssigneeId = '{rep['sf_id']}'")
    assert [r["PermissionSet"]["Name"] for r in granted["records"]] == ["Rating_Editors"]
    allowed = control(emu, "POST", f"/ui/salesforce/Account/{account}", json={"as": rep["sf_id"], "set": {"Rating__c": "Hot"}})
    assert allowed.status_code == 200
    rows = sf.query(f"SELECT NewValue, CreatedById FROM AccountHistory WHERE AccountId = '{account}' AND Field = 'Rating__c'")
    assert [(r["NewValue"], r["CreatedById"]) for r in rows["records"]] == [("Hot", rep["sf_id"])]


def test_admin_may_edit_any_field_and_an_inactive_user_nothing_when_editing_in_the_ui(emu: RunningEmulator) -> None:
    sf = salesforce(emu)
    admin = _by_role(emu, "admin")
    inactive = next(u for u in _users(emu) if not u["is_active"])
    account = sf.query("SELECT Id FROM Account ORDER BY Name DESC LIMIT 1")["records"][0]["Id"]
    sf.toolingexecute("sobjects/CustomField", method="POST", json={
        "FullName": "Account.Tier__c", "Metadata": {"label": "Tier", "type": "Text", "length": 10}})
    assert emu.control.ui_edit("salesforce", "Account", account, admin["email"], {"Tier__c": "A"})["changed"] == ["Tier__c"]
    assert sf.Account.get(account)["Tier__c"] == "A"
    with pytest.raises(UiEditRefused) as caught:
        emu.control.ui_edit("salesforce", "Account", account, inactive["sf_id"], {"Industry": "Retail"})
    assert caught.value.body[0]["errorCode"] == "INACTIVE_OWNER_OR_USER"


def test_api_writes_are_stamped_with_the_integration_user_when_it_is_provisioned(emu: RunningEmulator) -> None:
    sf = salesforce(emu)
    integration = _by_role(emu, "integration")
    account = sf.Account.create({"Name": "Stamped GmbH", "OwnerId": _by_role(emu, "rep")["sf_id"]})["id"]
    row = sf.query(f"SELECT CreatedById, LastModifiedById, CreatedBy.Name FROM Account WHERE Id = '{account}'")["records"][0]
    assert (row["CreatedById"], row["LastModifiedById"]) == (integration["sf_id"], integration["sf_id"])
    assert row["CreatedBy"]["Name"] == "Territory Integration"
    assert sf_id("owner", emu.state.integration_n or -1) == integration["sf_id"]


def test_neutral_control_edit_shows_as_an_admin_edit_in_salesforce_and_a_ui_edit_in_hubspot(emu: RunningEmulator) -> None:
    sf, hs = salesforce(emu), hubspot(emu)
    admin = _by_role(emu, "admin")
    account = sf.query("SELECT Id, OwnerId FROM Account ORDER BY Name LIMIT 1 OFFSET 3")["records"][0]
    old_owner = next(u for u in _users(emu) if u["sf_id"] == account["OwnerId"])
    new_owner = next(u for u in _users(emu) if u["role"] == "rep" and u["is_active"] and u["n"] != old_owner["n"])
    emu.control.update("accounts", account["Id"], {"owner_n": new_owner["n"]})
    assert sf.Account.get(account["Id"])["LastModifiedById"] == admin["sf_id"]
    rows = sf.query(f"SELECT OldValue, NewValue, CreatedById FROM AccountHistory WHERE AccountId = '{account['Id']}' "
                    "AND Field = 'Owner' AND DataType = 'EntityId'")["records"]
    assert [(r["OldValue"], r["NewValue"], r["CreatedById"]) for r in rows] == [(old_owner["sf_id"], new_owner["sf_id"], admin["sf_id"])]
    company = str(emu.control.record("accounts", account["Id"])["n"])
    got = hs.crm.companies.basic_api.get_by_id(company, properties=["hubspot_owner_id"], properties_with_history=["hubspot_owner_id"])
    history = got.properties_with_history["hubspot_owner_id"]
    assert [(h.value, h.source_type) for h in history] == [(new_owner["hs_owner_id"], "CRM_UI"), (old_owner["hs_owner_id"], "IMPORT")]
