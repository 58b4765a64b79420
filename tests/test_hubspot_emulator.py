"""The HubSpot emulator as the unmodified official client sees it."""

from __future__ import annotations

import json
import urllib.request

import pytest
from hubspot.crm.companies.exceptions import ApiException, NotFoundException
from hubspot.crm.owners.exceptions import ApiException as OwnersApiException

from territory.emulator.server import FaultPlan
from tests.hubspot_support import T0, add_deal, make_state, raw_client, running


def _ms(seconds: int) -> str:
    return str(int(T0.timestamp() * 1000) + seconds * 1000)


def test_list_pages_by_id_and_drops_paging_on_last_page() -> None:
    with running(make_state(25)) as server:
        api = raw_client(server).crm.companies.basic_api
        first = api.get_page(limit=10, properties=["name", "zip"])
        last = api.get_page(limit=10, after=api.get_page(limit=10, after=first.paging.next.after).paging.next.after)
    assert [c.id for c in first.results] == [str(n) for n in range(1000, 1010)]
    assert set(first.results[0].properties) >= {"name", "zip", "hs_lastmodifieddate", "hs_object_id"}
    assert "territory_lat" not in first.results[0].properties
    assert len(last.results) == 5 and last.paging is None


def test_comma_separated_properties_are_accepted_when_sent_raw() -> None:
    with running(make_state(2)) as server:
        url = f"{server.http_url}/crm/v3/objects/companies?limit=1&properties=city,territory_lat"
        req = urllib.request.Request(url, headers={"Authorization": "Bearer emulator-token"})
        with urllib.request.urlopen(req) as resp:
            body = json.load(resp)
            daily = resp.headers["X-HubSpot-RateLimit-Daily-Remaining"]
    assert body["results"][0]["properties"]["city"] == "Köln"
    assert body["results"][0]["properties"]["territory_lat"] == "50.94"
    assert int(daily) > 0


def test_archived_company_is_404_unless_archived_is_requested() -> None:
    state = make_state(3)
    state.delete(state.accounts[1001])
    with running(state) as server:
        api = raw_client(server).crm.companies.basic_api
        with pytest.raises(NotFoundException) as info:
            api.get_by_id("1001")
        archived = api.get_by_id("1001", archived=True)
        listed = api.get_page(archived=True)
    assert json.loads(info.value.body)["category"] == "OBJECT_NOT_FOUND"
    assert archived.archived is True and archived.archived_at is not None
    assert [c.id for c in listed.results] == ["1001"]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": _ms(3)}, ["1003", "1004"]),
        ({"propertyName": "hs_lastmodifieddate", "operator": "LT", "value": _ms(1)}, ["1000"]),
        ({"propertyName": "hs_lastmodifieddate", "operator": "BETWEEN", "value": _ms(1), "highValue": _ms(2)},
         ["1001", "1002"]),
        ({"propertyName": "hubspot_owner_id", "operator": "EQ", "value": "2"}, ["1001", "1003"]),
        ({"propertyName": "hubspot_owner_id", "operator": "NEQ", "value": "2"}, ["1000", "1002", "1004"]),
        ({"propertyName": "hs_object_id", "operator": "IN", "values": ["1000", "1004"]}, ["1000", "1004"]),
        ({"propertyName": "numberofemployees", "operator": "GT", "value": "12"}, ["1003", "1004"]),
        ({"propertyName": "zip", "operator": "NOT_HAS_PROPERTY"}, ["1002"]),
        ({"propertyName": "zip", "operator": "HAS_PROPERTY"}, ["1000", "1001", "1003", "1004"]),
    ],
)
def test_search_filters_match_hubspot_semantics(flt: dict[str, object], expected: list[str]) -> None:
    state = make_state(5)
    state.accounts[1002].postal_code = None
    with running(state) as server:
        found = raw_client(server).crm.companies.search_api.do_search(
            {"filterGroups": [{"filters": [flt]}], "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
             "limit": 100})
    assert [c.id for c in found.results] == expected
    assert found.total == len(expected)


def test_search_excludes_archived_and_sorts_descending_with_default_limit() -> None:
    state = make_state(15)
    state.delete(state.accounts[1014])
    with running(state) as server:
        found = raw_client(server).crm.companies.search_api.do_search(
            {"sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}]})
    assert found.total == 14 and len(found.results) == 10
    assert found.results[0].id == "1013" and found.paging.next.after == "10"


def test_owners_use_trailing_slash_archived_and_user_id() -> None:
    with running(make_state(1, owners=3)) as server:
        owners = raw_client(server).crm.owners.owners_api
        active = owners.get_page(limit=500)
        deactivated = owners.get_page(archived=True)
        by_user = owners.get_by_id("1000002", id_property="userId")
        with pytest.raises(OwnersApiException) as info:
            owners.get_page(limit=501)
    assert [o.id for o in active.results] == ["1", "2"]
    assert [o.id for o in deactivated.results] == ["3"] and deactivated.results[0].archived
    assert by_user.id == "2" and by_user.user_id == 1_000_002 and by_user.teams[0].name == "Nord"
    assert info.value.status == 400
    assert any(path == "/crm/v3/owners/" for _, path in server.request_log)


def test_crud_status_codes_and_deal_associations() -> None:
    state = make_state(2)
    add_deal(state, 7001, 1000)
    with running(state) as server:
        hub = raw_client(server)
        created = hub.crm.companies.basic_api.create({"properties": {"name": "Neu GmbH", "hubspot_owner_id": "1"}})
        updated = hub.crm.companies.basic_api.update(created.id, {"properties": {"city": "Mainz"}})
        hub.crm.companies.basic_api.archive("1001")
        with pytest.raises(ApiException) as info:
            hub.crm.companies.basic_api.update("1000", {"properties": {"hubspot_owner_id": "3"}})
        assoc = hub.crm.associations.v4.basic_api.get_page("deals", "7001", "companies")
        deal = hub.crm.deals.basic_api.get_by_id("7001", associations=["companies"])
    assert created.properties["name"] == "Neu GmbH" and updated.properties["city"] == "Mainz"
    assert state.accounts[int(created.id)].city == "Mainz" and state.accounts[1001].deleted
    assert info.value.status == 400 and "hubspot_owner_id" in info.value.body  # owner 3 is deactivated
    assert assoc.results[0].to_object_id == "1000"
    assert assoc.results[0].association_types[0].type_id == 341
    assert deal.associations["companies"].results[0].id == "1000"


def test_batch_read_answers_207_with_missing_ids() -> None:
    with running(make_state(2)) as server:
        out = raw_client(server).crm.companies.batch_api.read(
            {"properties": ["name"], "inputs": [{"id": "1000"}, {"id": "5"}]})
    assert [c.id for c in out.results] == ["1000"]
    assert out.num_errors == 1 and out.errors[0].context == {"ids": ["5"]}


def test_rate_limit_fault_has_hubspot_body_and_headers() -> None:
    with running(make_state(1), faults=FaultPlan(script=["rate_limit"])) as server:
        with pytest.raises(ApiException) as info:
            raw_client(server).crm.companies.basic_api.get_page()
    body = json.loads(info.value.body)
    assert info.value.status == 429
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["errorType"] == "RATE_LIMIT"
    assert info.value.headers["Retry-After"] == "1"
    assert info.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_search_top_of_many_keeps_id_order_within_ties_when_a_heap_is_used() -> None:
    state = make_state(100)
    for n in (1050, 1020, 1070):  # three companies share the newest stamp
        state.accounts[n].modified_at = state.accounts[1099].modified_at
    with running(state) as server:
        search = raw_client(server).crm.companies.search_api
        newest = search.do_search({"sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "DESCENDING"}],
                                   "limit": 3})
        oldest = search.do_search({"sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
                                   "limit": 2, "after": "1"})
    assert [c.id for c in newest.results] == ["1020", "1050", "1070"]
    assert newest.total == 100 and newest.paging.next.after == "3"
    assert [c.id for c in oldest.results] == ["1001", "1002"]


def test_unparsable_paging_input_is_a_validation_error() -> None:
    with running(make_state(2)) as server, pytest.raises(ApiException) as info:
        raw_client(server).crm.companies.search_api.do_search({"limit": "many"})
    assert info.value.status == 400 and "VALIDATION_ERROR" in info.value.body
