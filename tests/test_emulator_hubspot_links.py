"""HubSpot v4 associations stored as links and batch upsert by a unique property, through the
real hubspot-api-client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import ApiException as AssociationsApiException
from hubspot.crm.associations.v4 import AssociationSpec
from hubspot.crm.companies import ApiException

from territory.emulator import RunningEmulator, start_emulator

TOKEN = "links-token"
SPEC = "HUBSPOT_DEFINED"


@pytest.fixture()
def emu() -> Iterator[RunningEmulator]:
    with start_emulator(accounts=10, seed=4, token=TOKEN) as running:
        yield running


@pytest.fixture()
def hs(emu: RunningEmulator) -> HubSpot:
    return HubSpot(access_token=TOKEN, host=emu.http_url)


def _companies(hs: HubSpot, n: int = 2) -> list[str]:
    return [c.id for c in hs.crm.companies.basic_api.get_page(limit=n).results]


def _contact(hs: HubSpot, last: str) -> str:
    return str(hs.crm.contacts.basic_api.create({"properties": {"lastname": last}}).id)


def _linked(hs: HubSpot, from_type: str, from_id: str, to_type: str) -> dict[str, list[int]]:
    page = hs.crm.associations.v4.basic_api.get_page(from_type, from_id, to_type)
    return {str(r.to_object_id): sorted(t.type_id for t in r.association_types) for r in page.results}


def test_default_association_links_both_ways_and_makes_the_first_company_primary(hs: HubSpot) -> None:
    first, second = _companies(hs)
    contact = _contact(hs, "Link")
    made = hs.crm.associations.v4.basic_api.create_default("contacts", contact, "companies", first)
    assert {r.association_spec.association_type_id for r in made.results} == {279, 280}
    hs.crm.associations.v4.basic_api.create_default("contacts", contact, "companies", second)
    assert _linked(hs, "contacts", contact, "companies") == {first: [1, 279], second: [279]}
    assert _linked(hs, "companies", second, "contacts")[contact] == [280]
    props = hs.crm.contacts.basic_api.get_by_id(contact, properties=["associatedcompanyid"]).properties
    assert props["associatedcompanyid"] == first


def test_labelled_association_with_type_ids_answers_201_and_reads_back_labels_when_created(hs: HubSpot) -> None:
    company = _companies(hs, 1)[0]
    deal = hs.crm.deals.basic_api.create({"properties": {"dealname": "Linked deal", "dealstage": "qualifiedtobuy"}}).id
    pair = hs.crm.associations.v4.basic_api.create("deals", deal, "companies", company, [
        AssociationSpec(association_category=SPEC, association_type_id=341),
        AssociationSpec(association_category=SPEC, association_type_id=5)])
    assert (str(pair.from_object_id), str(pair.to_object_id), pair.labels) == (deal, company, ["Primary"])
    page = hs.crm.associations.v4.basic_api.get_page("deals", deal, "companies")
    types = [(t.type_id, t.label) for t in page.results[0].association_types]
    assert types == [(341, None), (5, "Primary")]
    with pytest.raises(AssociationsApiException) as caught:
        hs.crm.associations.v4.basic_api.create("deals", deal, "companies", company, [
            AssociationSpec(association_category=SPEC, association_type_id=279)])
    assert caught.value.status == 400


def test_archive_removes_the_link_in_both_directions_when_deleted(hs: HubSpot) -> None:
    company = _companies(hs, 1)[0]
    contact = _contact(hs, "Gone")
    hs.crm.associations.v4.basic_api.create_default("contacts", contact, "companies", company)
    hs.crm.associations.v4.basic_api.archive("contacts", contact, "companies", company)
    assert contact not in _linked(hs, "companies", company, "contacts")
    assert _linked(hs, "contacts", contact, "companies") == {}


def test_batch_create_read_and_archive_work_on_notes_and_tasks_of_companies(hs: HubSpot) -> None:
    company = _companies(hs, 1)[0]
    note = hs.crm.objects.notes.basic_api.create({"properties": {"hs_timestamp": "2026-01-05T10:00:00Z", "hs_note_body": "n"}}).id
    task = hs.crm.objects.tasks.basic_api.create({"properties": {"hs_timestamp": "2026-01-05T10:00:00Z", "hs_task_subject": "t"}}).id
    batch = hs.crm.associations.v4.batch_api
    created = batch.create("notes", "companies", {"inputs": [
        {"from": {"id": note}, "to": {"id": company}, "types": [{"associationCategory": SPEC, "associationTypeId": 190}]}]})
    assert created.status == "COMPLETE" and str(created.results[0].to_object_id) == company
    batch.create_default("tasks", "companies", {"inputs": [{"from": {"id": task}, "to": {"id": company}}]})
    read = batch.get_page("companies", "notes", {"inputs": [{"id": company}]})
    assert [(r._from.id, [str(t.to_object_id) for t in r.to]) for r in read.results] == [(company, [note])]
    assert _linked(hs, "companies", company, "tasks") == {task: [191]}
    batch.archive("companies", "tasks", {"inputs": [{"from": {"id": company}, "to": [{"id": task}]}]})
    assert _linked(hs, "companies", company, "tasks") == {}


def test_labels_list_the_type_ids_of_each_pair_when_asked(hs: HubSpot) -> None:
    definitions = hs.crm.associations.v4.schema.definitions_api
    assert {(x.type_id, x.label) for x in definitions.get_all("contacts", "companies").results} == {(279, None), (1, "Primary")}
    assert {x.type_id for x in definitions.get_all("companies", "deals").results} == {342, 6}
    assert {x.type_id for x in definitions.get_all("tasks", "companies").results} == {192}


def test_create_with_associations_links_the_new_record_when_posted(hs: HubSpot) -> None:
    company = _companies(hs, 1)[0]
    contact = hs.crm.contacts.basic_api.create({"properties": {"lastname": "Born linked"}, "associations": [
        {"to": {"id": company}, "types": [{"associationCategory": SPEC, "associationTypeId": 279}]}]}).id
    assert _linked(hs, "companies", company, "contacts")[contact] == [2, 280]
    listed = hs.crm.companies.basic_api.get_by_id(company, associations=["contacts"])
    assert contact in {a.id for a in listed.associations["contacts"].results}


def test_batch_upsert_creates_then_updates_by_a_unique_property_when_sent_twice(hs: HubSpot) -> None:
    hs.crm.properties.core_api.create("companies", {
        "name": "tr_external_key", "label": "External key", "type": "string", "fieldType": "text",
        "groupName": "companyinformation", "hasUniqueValue": True})
    inputs = [{"idProperty": "tr_external_key", "id": key, "properties": {"name": f"Upsert {key}"}} for key in ("u-1", "u-2")]
    first = hs.crm.companies.batch_api.upsert({"inputs": inputs})
    assert sorted(r.new for r in first.results) == [True, True]
    inputs[0]["properties"] = {"name": "Renamed u-1"}
    second = hs.crm.companies.batch_api.upsert({"inputs": inputs})
    assert [r.new for r in second.results] == [False, False]
    assert {r.id for r in second.results} == {r.id for r in first.results}
    names = {r.properties["tr_external_key"]: r.properties["name"] for r in hs.crm.companies.batch_api.read(
        {"inputs": [{"id": r.id} for r in second.results], "properties": ["name", "tr_external_key"]}).results}
    assert names == {"u-1": "Renamed u-1", "u-2": "Upsert u-2"}


def test_batch_upsert_refuses_a_property_without_unique_values_when_used_as_id(hs: HubSpot) -> None:
    with pytest.raises(ApiException) as caught:
        hs.crm.companies.batch_api.upsert({"inputs": [{"idProperty": "name", "id": "x", "properties": {"city": "Bonn"}}]})
    assert caught.value.status == 400 and "VALIDATION_ERROR" in caught.value.body


def test_records_are_read_and_updated_by_a_unique_property_when_id_property_is_given(hs: HubSpot) -> None:
    hs.crm.properties.core_api.create("companies", {
        "name": "tr_ref", "label": "Reference", "type": "string", "fieldType": "text",
        "groupName": "companyinformation", "hasUniqueValue": True})
    made = hs.crm.companies.basic_api.create({"properties": {"name": "Keyed GmbH", "tr_ref": "r-7"}})
    got = hs.crm.companies.basic_api.get_by_id("r-7", id_property="tr_ref", properties=["name"])
    assert (got.id, got.properties["name"]) == (made.id, "Keyed GmbH")
    hs.crm.companies.basic_api.update("r-7", {"properties": {"city": "Bonn"}}, id_property="tr_ref")
    batch = hs.crm.companies.batch_api.read({"idProperty": "tr_ref", "inputs": [{"id": "r-7"}], "properties": ["city"]})
    assert [(r.id, r.properties["city"]) for r in batch.results] == [(made.id, "Bonn")]
