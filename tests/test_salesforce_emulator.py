"""The Salesforce emulator itself: SOQL subset, paging, collections, error shapes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from territory.emulator.soql import SoqlError, parse_soql
from tests.salesforce_support import T0, account_id, make_state, owner_id, raw_client, running


def test_parser_reads_the_full_subset_when_given_a_complex_query() -> None:
    q = parse_soql(
        "select Id, Owner.Name FROM Account WHERE (Name LIKE 'A\\_%' OR NOT Industry IN ('x','y')) "
        "AND SystemModstamp >= 2024-01-01T00:00:00+00:00 AND ParentId = null AND IsDeleted = false "
        "AND CreatedDate < 2024-05-01T10:00:00Z AND AnnualRevenue > 1.5 AND Website NOT IN ('a') "
        "ORDER BY Name DESC NULLS LAST, Id LIMIT 10 OFFSET 5"
    )
    assert q.fields == ("Id", "Owner.Name") and q.sobject == "Account"
    assert [(o.field, o.descending, o.nulls_last) for o in q.order_by] == [("Name", True, True), ("Id", False, None)]
    assert (q.limit, q.offset, q.count_only) == (10, 5, False)


@pytest.mark.parametrize("text", ["SELECT FROM Account", "SELECT Id FROM Account WHERE", "SELECT Id FROM Account LIMIT x",
                                  "SELECT Id FROM Account WHERE Name = 'open", "SELECT Id FROM Account ORDER Name"])
def test_parser_rejects_broken_queries_as_malformed(text: str) -> None:
    with pytest.raises(SoqlError) as caught:
        parse_soql(text)
    assert caught.value.code == "MALFORMED_QUERY"


def test_where_order_limit_and_count_evaluate_like_salesforce() -> None:
    state = make_state(6)
    state.accounts[1001].industry = None
    state.accounts[1002].name = "O'Brien Ltd"
    with running(state) as server:
        sf = raw_client(server)
        q = "SELECT Id, Name, Owner.Name FROM Account WHERE Industry = null OR Name LIKE 'o\\'brien%' ORDER BY Name DESC"
        rows = sf.query(q)["records"]
        count = sf.query(f"SELECT COUNT() FROM Account WHERE NumberOfEmployees >= 12 AND OwnerId != '{owner_id(2)}'")
        since = (T0 + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
        tail = sf.query(f"SELECT Id FROM Account WHERE SystemModstamp > {since} ORDER BY SystemModstamp, Id")
        limited = sf.query("SELECT Id FROM Account WHERE Id NOT IN ('001000000001000AAA') ORDER BY Id DESC LIMIT 2 OFFSET 1")
    assert [r["Name"] for r in rows] == ["O'Brien Ltd", "Firma 1001 GmbH"]
    assert rows[0]["Owner"]["Name"] == "Rep1 Last1"
    assert count["totalSize"] == 2 and count["records"] == []  # 1002 and 1004 (owner 1, >= 12 employees)
    assert [r["Id"] for r in tail["records"]] == [account_id(1005)]
    assert [r["Id"] for r in limited["records"]] == [account_id(1004), account_id(1003)]


def test_query_hides_deleted_rows_and_query_all_shows_them() -> None:
    state = make_state(3)
    state.delete(state.accounts[1001])
    with running(state) as server:
        sf = raw_client(server)
        live = sf.query("SELECT Id FROM Account")
        everything = sf.query("SELECT Id, IsDeleted FROM Account", include_deleted=True)
        with pytest.raises(SalesforceResourceNotFound) as caught:
            sf.Account.get(account_id(1001))
    assert live["totalSize"] == 2 and everything["totalSize"] == 3
    assert caught.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    assert sf.api_usage["api-usage"].total == 5_000_000


def test_pages_are_a_snapshot_when_records_change_while_paging() -> None:
    state = make_state(2100)
    with running(state) as server:
        sf = raw_client(server)
        first = sf.query("SELECT Id, Name, SystemModstamp FROM Account ORDER BY SystemModstamp, Id")
        state.touch(state.accounts[1000 + 2050], name="Edited meanwhile")
        second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
        again = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)  # a retried page
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g") and first["nextRecordsUrl"].endswith("-2000")
    assert second["done"] and len(second["records"]) == 100 and again == second
    assert second["records"][50]["Name"] == "Firma 3050 GmbH"
    assert second["records"][50]["SystemModstamp"] == f"{T0 + timedelta(hours=2050):%Y-%m-%dT%H:%M:%S}.000+0000"


def test_collections_reject_more_than_200_records_and_roll_back_all_or_none() -> None:
    state = make_state(3, owners=3)
    with running(state) as server:
        sf = raw_client(server)
        too_many = [{"attributes": {"type": "Account"}, "Name": f"N{i}"} for i in range(201)]
        with pytest.raises(SalesforceMalformedRequest):
            sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": too_many})
        body = {"allOrNone": True, "records": [
            {"attributes": {"type": "Account"}, "id": account_id(1000), "OwnerId": owner_id(2)},
            {"attributes": {"type": "Account"}, "id": account_id(1001), "OwnerId": "005000000000999AAA"},
        ]}
        results = sf.restful("composite/sobjects", method="PATCH", json=body)
    assert [r["errors"][0]["statusCode"] for r in results] == ["ALL_OR_NONE_OPERATION_ROLLED_BACK", "INVALID_CROSS_REFERENCE_KEY"]
    assert state.accounts[1000].owner_n == 1


def test_single_record_writes_validate_like_salesforce() -> None:
    state = make_state(1, owners=3)
    with running(state) as server:
        sf = raw_client(server)
        created = sf.Opportunity.create({"Name": "New", "StageName": "Closed Won", "CloseDate": "2026-02-01",
                                         "AccountId": account_id(1000), "Amount": 10})
        with pytest.raises(SalesforceMalformedRequest) as inactive:
            sf.Account.update(account_id(1000), {"OwnerId": owner_id(3)})
        with pytest.raises(SalesforceMalformedRequest) as missing:
            sf.Account.create({"Website": "x.de"})
        with pytest.raises(SalesforceMalformedRequest) as readonly:
            sf.Account.update(account_id(1000), {"SystemModstamp": "2020-01-01T00:00:00.000+0000"})
    opp = next(o for o in state.opportunities.values())
    assert created["success"] and opp.is_closed and opp.close_date == date(2026, 2, 1)
    assert inactive.value.content[0]["errorCode"] == "INACTIVE_OWNER_OR_USER"
    assert missing.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert readonly.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert opp.modified_at > datetime(2025, 12, 31, tzinfo=UTC)


def test_batch_size_hint_and_oauth_token_endpoint_work_like_salesforce() -> None:
    with running(make_state(450)) as server:
        sf = raw_client(server)
        first = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=200"})
        session = sf.session
        token = session.post(f"{server.https_url}/services/oauth2/token",
                             data={"grant_type": "password", "username": "u", "password": "p"}).json()
        bad = session.post(f"{server.https_url}/services/oauth2/token", data={"grant_type": "nope"})
    assert len(first["records"]) == 200 and first["nextRecordsUrl"].endswith("-200")
    assert token["access_token"] == "emulator-token" and token["instance_url"] == server.https_url
    assert bad.status_code == 400 and bad.json()["error"] == "unsupported_grant_type"


def test_oauth_token_endpoint_issues_a_new_token_when_all_were_revoked() -> None:
    with running(make_state(3)) as server:
        session = raw_client(server).session
        server.tokens.clear()
        token = session.post(f"{server.https_url}/services/oauth2/token",
                             data={"grant_type": "password", "username": "u", "password": "p"})
        assert token.status_code == 200
        assert token.json()["access_token"] in server.tokens
