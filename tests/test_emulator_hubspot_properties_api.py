"""The HubSpot properties API of the emulator through hubspot-api-client: groups, custom
properties with full metadata, 409 on duplicates, enumeration options enforced on writes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hubspot import HubSpot
from hubspot.crm.companies import ApiException as CompaniesApiException
from hubspot.crm.properties import ApiException

from territory.emulator import RunningEmulator, start_emulator

TOKEN = "props-token"
STATUSES = [{"label": s.title(), "value": s, "displayOrder": i, "hidden": False}
            for i, s in enumerate(("pending", "approved", "rejected"))]


@pytest.fixture()
def emu() -> Iterator[RunningEmulator]:
    with start_emulator(accounts=5, seed=2, token=TOKEN, flavours=("hubspot",)) as running:
        yield running


@pytest.fixture()
def hs(emu: RunningEmulator) -> HubSpot:
    client = HubSpot(access_token=TOKEN, host=emu.http_url)
    client.crm.properties.groups_api.create("companies", {"name": "territory_mgmt", "label": "Territory", "displayOrder": -1})
    client.crm.properties.core_api.create("companies", {
        "name": "tr_status", "label": "Territory status", "type": "enumeration", "fieldType": "select",
        "groupName": "territory_mgmt", "options": STATUSES, "formField": False})
    return client


def test_custom_property_reads_back_with_full_metadata_beside_the_standard_ones(hs: HubSpot) -> None:
    prop = hs.crm.properties.core_api.get_by_name("companies", "tr_status")
    assert (prop.name, prop.type, prop.field_type, prop.group_name) == ("tr_status", "enumeration", "select", "territory_mgmt")
    assert [o.value for o in prop.options] == ["pending", "approved", "rejected"]
    assert prop.hubspot_defined is False and prop.modification_metadata.archivable is True
    listed = {p.name: p for p in hs.crm.properties.core_api.get_all("companies").results}
    assert {"tr_status", "name", "domain", "hubspot_owner_id"} <= set(listed)
    assert listed["name"].hubspot_defined is True
    assert "territory_mgmt" in {g.name for g in hs.crm.properties.groups_api.get_all("companies").results}


def test_duplicate_property_or_group_is_409_with_hubspots_error_body_when_created_again(hs: HubSpot) -> None:
    with pytest.raises(ApiException) as caught:
        hs.crm.properties.core_api.create("companies", {
            "name": "tr_status", "label": "again", "type": "string", "fieldType": "text", "groupName": "territory_mgmt"})
    body = json.loads(caught.value.body)
    assert caught.value.status == 409
    assert body["status"] == "error" and body["category"] == "OBJECT_ALREADY_EXISTS" and body["correlationId"]
    with pytest.raises(ApiException) as again:
        hs.crm.properties.groups_api.create("companies", {"name": "territory_mgmt", "label": "Territory"})
    assert again.value.status == 409


def test_enumeration_refuses_a_value_outside_its_options_on_every_write_path(hs: HubSpot) -> None:
    company = hs.crm.companies.basic_api.get_page(limit=1).results[0].id
    hs.crm.companies.basic_api.update(company, {"properties": {"tr_status": "approved"}})
    attempts = [
        lambda: hs.crm.companies.basic_api.update(company, {"properties": {"tr_status": "maybe"}}),
        lambda: hs.crm.companies.basic_api.create({"properties": {"name": "X", "tr_status": "maybe"}}),
        lambda: hs.crm.companies.batch_api.update({"inputs": [{"id": company, "properties": {"tr_status": "maybe"}}]}),
    ]
    for attempt in attempts:
        with pytest.raises(CompaniesApiException) as caught:
            attempt()
        assert caught.value.status == 400 and "INVALID_OPTION" in caught.value.body
    got = hs.crm.companies.basic_api.get_by_id(company, properties=["tr_status"])
    assert got.properties["tr_status"] == "approved"


def test_archived_custom_property_is_gone_and_unknown_property_is_404_when_read(hs: HubSpot) -> None:
    hs.crm.properties.core_api.archive("companies", "tr_status")
    with pytest.raises(ApiException) as caught:
        hs.crm.properties.core_api.get_by_name("companies", "tr_status")
    assert caught.value.status == 404


def test_archived_property_group_is_gone_and_archiving_it_again_is_404_when_deleted(hs: HubSpot) -> None:
    hs.crm.properties.core_api.archive("companies", "tr_status")
    hs.crm.properties.groups_api.archive("companies", "territory_mgmt")
    assert "territory_mgmt" not in {g.name for g in hs.crm.properties.groups_api.get_all("companies").results}
    with pytest.raises(ApiException) as caught:
        hs.crm.properties.groups_api.archive("companies", "territory_mgmt")
    assert caught.value.status == 404
