"""Contacts re-owned through Collections (Salesforce) and batch update (HubSpot), the lost-response
fault seen by a write that must not be duplicated, and chunked request bodies on a keep-alive
connection."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.objects import BatchInputSimplePublicObjectBatchInput
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from territory.emulator import RunningEmulator, start_emulator
from tests.emulator_support import hubspot_client, salesforce_client

TOKEN = "contacts-token"


@pytest.fixture()
def emu() -> Iterator[RunningEmulator]:
    with start_emulator(accounts=12, seed=21, token=TOKEN, provision_users=True) as running:
        yield running


def salesforce(emu: RunningEmulator) -> Salesforce:
    return salesforce_client(emu, TOKEN)


def _reps(emu: RunningEmulator) -> list[dict[str, Any]]:
    return [u for u in emu.control.users() if u["role"] in ("rep", "manager") and u["is_active"]]


def test_contacts_follow_their_account_when_reowned_through_collections(emu: RunningEmulator) -> None:
    sf = salesforce(emu)
    old, new = _reps(emu)[:2]
    account = sf.query("SELECT Id FROM Account ORDER BY Name LIMIT 1")["records"][0]["Id"]
    made = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": [
        {"attributes": {"type": "Contact"}, "LastName": f"Kontakt {i}", "AccountId": account, "OwnerId": old["sf_id"]}
        for i in range(3)]})
    ids = [r["id"] for r in made]
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Contact"}, "id": cid, "OwnerId": new["sf_id"]} for cid in ids]})
    assert [r["success"] for r in results] == [True, True, True]
    rows = sf.query(f"SELECT Id, OwnerId, Owner.Email, Account.Id FROM Contact WHERE AccountId = '{account}'")["records"]
    assert {(r["Id"], r["OwnerId"], r["Owner"]["Email"]) for r in rows} == {(cid, new["sf_id"], new["email"]) for cid in ids}
    history = sf.query(f"SELECT ContactId, OldValue, NewValue FROM ContactHistory WHERE Field = 'Owner' "
                       f"AND DataType = 'EntityId' AND NewValue = '{new['sf_id']}'")["records"]
    assert sorted(h["ContactId"] for h in history) == sorted(ids)


def test_hubspot_contacts_are_reowned_by_batch_update_and_read_back_through_both_apis(emu: RunningEmulator) -> None:
    hs = HubSpot(access_token=TOKEN, host=emu.http_url)
    old, new = _reps(emu)[:2]
    company = hs.crm.companies.basic_api.get_page(limit=1).results[0].id
    created = [hs.crm.contacts.basic_api.create({
        "properties": {"firstname": "Eva", "lastname": f"Muster {i}", "hubspot_owner_id": old["hs_owner_id"]},
        "associations": [{"to": {"id": company}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}],
    }).id for i in range(3)]
    batch = hs.crm.contacts.batch_api.update(BatchInputSimplePublicObjectBatchInput(inputs=[
        {"id": cid, "properties": {"hubspot_owner_id": new["hs_owner_id"]}} for cid in created]))
    assert batch.status == "COMPLETE" and sorted(c.id for c in batch.results) == sorted(created)
    reread = hs.crm.contacts.batch_api.read({"inputs": [{"id": c} for c in created], "properties": ["hubspot_owner_id"],
                                             "propertiesWithHistory": ["hubspot_owner_id"]})
    assert {c.properties["hubspot_owner_id"] for c in reread.results} == {new["hs_owner_id"]}
    assert all(c.properties_with_history["hubspot_owner_id"][0].source_type == "INTEGRATION" for c in reread.results)
    linked = hs.crm.associations.v4.basic_api.get_page("companies", company, "contacts")
    assert set(created) <= {str(a.to_object_id) for a in linked.results}
    sf_owners = {r["OwnerId"] for r in salesforce(emu).query(
        "SELECT OwnerId FROM Contact WHERE LastName LIKE 'Muster%'")["records"]}
    assert sf_owners == {new["sf_id"]}


def test_lost_response_write_is_applied_once_and_an_upsert_retry_does_not_duplicate_it(emu: RunningEmulator) -> None:
    sf = salesforce(emu)
    sf.toolingexecute("sobjects/CustomField", method="POST", json={
        "FullName": "Account.Proposal_Key__c", "Metadata": {"label": "Key", "type": "Text", "length": 40,
                                                            "externalId": True, "unique": True}})
    emu.control.set_faults(script=["lost_response"])
    with pytest.raises(requests.ConnectionError):
        sf.Account.upsert("Proposal_Key__c/p-1", {"Name": "Lost Answer AG"})
    assert emu.control.faults()["injected"] == {"lost_response": 1}
    assert sf.query("SELECT COUNT() FROM Account WHERE Proposal_Key__c = 'p-1'")["totalSize"] == 1
    assert sf.Account.upsert("Proposal_Key__c/p-1", {"Name": "Lost Answer AG"}) == 200
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Lost Answer AG'")["totalSize"] == 1
    emu.control.set_faults(script=["lost_response"])
    with pytest.raises(requests.ConnectionError):
        sf.Account.create({"Name": "Naive Retry AG", "Proposal_Key__c": "p-2"})
    with pytest.raises(SalesforceMalformedRequest) as caught:  # a naive retry of the create is refused
        sf.Account.create({"Name": "Naive Retry AG", "Proposal_Key__c": "p-2"})
    assert caught.value.content[0]["errorCode"] == "DUPLICATE_VALUE"
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Naive Retry AG'")["totalSize"] == 1
    assert emu.control.faults()["injected"] == {"lost_response": 2}


def test_lost_response_hubspot_batch_upsert_retry_keeps_one_record_per_unique_value(emu: RunningEmulator) -> None:
    hs = HubSpot(access_token=TOKEN, host=emu.http_url)
    hs.crm.properties.core_api.create("companies", {
        "name": "tr_key", "label": "Proposal key", "type": "string", "fieldType": "text",
        "groupName": "companyinformation", "hasUniqueValue": True})
    body = {"inputs": [{"idProperty": "tr_key", "id": "k-9", "properties": {"name": "Upsert GmbH"}}]}
    emu.control.set_faults(script=["lost_response"])
    session = requests.Session()
    session.trust_env = False
    url = f"{emu.http_url}/crm/v3/objects/companies/batch/upsert"
    with pytest.raises(requests.ConnectionError):
        session.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    retry = session.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert retry.status_code == 200 and retry.json()["results"][0]["new"] is False
    found = hs.crm.companies.search_api.do_search({"filterGroups": [{"filters": [
        {"propertyName": "tr_key", "operator": "EQ", "value": "k-9"}]}], "properties": ["name", "tr_key"]})
    assert found.total == 1 and found.results[0].properties["name"] == "Upsert GmbH"


def _chunked(body: bytes, size: int = 7) -> bytes:
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def _read_response(stream: Any) -> tuple[int, bytes]:
    response = http.client.HTTPResponse(stream)  # type: ignore[arg-type]
    response.begin()
    return response.status, response.read()


def test_chunked_bodies_are_read_whole_and_the_next_request_on_the_connection_works(emu: RunningEmulator) -> None:
    host, port = emu.server.http_url.removeprefix("http://").split(":")
    form = b"grant_type=password&client_id=probe&client_secret=s&username=u%40example.com&password=p"
    patch = json.dumps({"properties": {"industry": "Retail"}}).encode()
    company = HubSpot(access_token=TOKEN, host=emu.http_url).crm.companies.basic_api.get_page(limit=1).results[0].id
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /services/oauth2/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\n" + _chunked(form))
        status, payload = _read_response(sock)
        assert status == 200 and json.loads(payload)["access_token"] == TOKEN
        sock.sendall(f"PATCH /crm/v3/objects/companies/{company} HTTP/1.1\r\nHost: x\r\n"
                     f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode() + _chunked(patch, 5))
        status, payload = _read_response(sock)
        assert status == 200 and json.loads(payload)["properties"]["industry"] == "Retail"
        sock.sendall(b"GET /services/data/ HTTP/1.1\r\nHost: x\r\n\r\n")
        status, payload = _read_response(sock)
        assert status == 200 and isinstance(json.loads(payload), list)


def test_chunked_body_over_tls_is_read_when_sent_by_http_client(emu: RunningEmulator) -> None:
    host, port = emu.https_url.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(emu.ca_file))
    conn = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)
    form = [b"grant_type=password&", b"username=u%40example.com&", b"password=p"]
    conn.request("POST", "/services/oauth2/token", body=iter(form), encode_chunked=True,
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Transfer-Encoding": "chunked"})
    first = conn.getresponse()
    assert first.status == 200 and "instance_url" in json.loads(first.read())
    conn.request("GET", "/services/data/v59.0/limits", headers={"Authorization": f"Bearer {TOKEN}"})
    second = conn.getresponse()
    assert second.status == 200 and "DailyApiRequests" in json.loads(second.read())
    conn.close()


def test_content_note_linked_to_an_account_reads_back_in_salesforce_and_as_a_hubspot_note(emu: RunningEmulator) -> None:
    sf = salesforce(emu)
    account = sf.query("SELECT Id FROM Account ORDER BY Name LIMIT 1")["records"][0]["Id"]
    html = "<p>Moved to <b>Nord</b> team</p>"
    note = sf.ContentNote.create({"Title": "Territory change", "Content": base64.b64encode(html.encode()).decode()})["id"]
    sf.ContentDocumentLink.create({"ContentDocumentId": note, "LinkedEntityId": account, "ShareType": "V",
                                   "Visibility": "AllUsers"})
    links = sf.query(f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{account}'")["records"]
    assert [r["ContentDocumentId"] for r in links] == [note]
    row = sf.query(f"SELECT Title, TextPreview, Content FROM ContentNote WHERE Id = '{note}'")["records"][0]
    assert (row["Title"], row["TextPreview"]) == ("Territory change", "Moved to Nord team")
    assert sf.session.get(f"{emu.https_url}{row['Content']}", headers=sf.headers, timeout=10).text == html
    company = str(emu.control.record("accounts", account)["n"])
    hs = hubspot_client(emu, TOKEN)
    notes = hs.crm.associations.v4.basic_api.get_page("companies", company, "notes").results
    assert note.startswith("069") and int(note[3:15]) in {int(n.to_object_id) for n in notes}
    body = hs.crm.objects.notes.basic_api.get_by_id(str(int(note[3:15])), properties=["hs_note_body"]).properties
    assert body["hs_note_body"] == html
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.ContentNote.create({"Title": "bad", "Content": "<p>not base64</p>"})
    assert caught.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"
