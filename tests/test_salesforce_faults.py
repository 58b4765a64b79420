"""Error handling: re-auth, retries with Retry-After, fatal errors with a next step."""

from __future__ import annotations

import pytest
import requests
import responses
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from territory.config.settings import load_settings
from territory.connector.errors import (
    FatalCrmError,
    RetriableCrmError,
    SessionExpiredError,
    SkippableRecordError,
)
from territory.connector.records import ObjectKind
from territory.connector.salesforce import SalesforceConnector, translate_error
from territory.emulator.server import FaultPlan
from tests.salesforce_support import FAST, connector_for, drain, ids, make_state, running


def test_reauthenticates_and_succeeds_when_the_session_expires_once() -> None:
    with running(make_state(5), faults=FaultPlan(script=["expired_session"])) as server:
        conn = connector_for(server)
        pages = drain(conn, ObjectKind.ACCOUNTS)
    assert len(ids(pages)) == 5
    assert conn.api_calls == 2


def test_fatal_says_the_token_was_rejected_not_expired_when_it_is_wrong() -> None:
    with running(make_state(5)) as server:
        conn = connector_for(server, token="stale-token")
        with pytest.raises(FatalCrmError) as caught:
            drain(conn, ObjectKind.ACCOUNTS)
    assert "Salesforce rejected SF_ACCESS_TOKEN" in str(caught.value) and "wrong" in str(caught.value)
    assert "SF_ACCESS_TOKEN expired" not in str(caught.value)
    assert caught.value.next_step and "SF_ACCESS_TOKEN" in caught.value.next_step
    assert conn.api_calls == 6  # three rounds of (call, re-authenticate, call), then give up


def test_retries_5xx_rate_limits_and_drops_honouring_retry_after_when_injected() -> None:
    waits: list[float] = []
    faults = FaultPlan(script=["server_error", "rate_limit", "drop_connection"])
    with running(make_state(2500), faults=faults) as server:
        conn = connector_for(server, sleep=waits.append)
        pages = drain(conn, ObjectKind.ACCOUNTS)
    assert len(set(ids(pages))) == 2500
    assert waits[1] == 1.0  # the emulator's Retry-After on its 503 "rate limit"
    assert len(waits) == 3 and conn.api_calls == 5


def test_fatal_with_permission_hint_when_the_object_is_not_accessible() -> None:
    state = make_state(1)
    with running(state, denied_objects={"Opportunity"}) as server:
        conn = connector_for(server)
        with pytest.raises(FatalCrmError) as caught:
            drain(conn, ObjectKind.OPPORTUNITIES)
    assert caught.value.status == 403 and caught.value.code == "INSUFFICIENT_ACCESS"
    assert "Opportunity" in str(caught.value) and "permission" in (caught.value.next_step or "")
    assert conn.api_calls == 1  # fatal errors are not retried


def test_fatal_with_next_step_when_the_daily_limit_is_used_up() -> None:
    state = make_state(1)
    state.daily_limit = 0
    with running(state) as server, pytest.raises(FatalCrmError) as caught:
        drain(connector_for(server), ObjectKind.ACCOUNTS)
    assert caught.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert "limit" in (caught.value.next_step or "")


def test_fatal_when_salesforce_rejects_a_query() -> None:
    with running(make_state(1)) as server:
        conn = connector_for(server)
        with pytest.raises(FatalCrmError) as caught:
            conn._call(lambda sf: sf.query("SELECT Nope FROM Account"), "query Account")
    assert caught.value.status == 400 and caught.value.code == "INVALID_FIELD"
    assert "Nope" in str(caught.value)


# narrow unit tests of the translation path, with `responses` in place of the network ------

SF = "https://sf.example.test"


def _mocked_connector() -> SalesforceConnector:
    settings = load_settings(env_file=None, territory_crm="salesforce", sf_instance_url=SF, sf_access_token="t")
    return SalesforceConnector.from_settings(settings, policy=FAST, sleep=lambda s: None)


def _query_url() -> str:
    return f"{SF}/services/data/v59.0/query/"


@responses.activate
def test_429_is_retriable_with_retry_after_when_a_proxy_answers_it() -> None:
    responses.get(_query_url(), status=429, json=[{"message": "slow down", "errorCode": "X"}], headers={"Retry-After": "7"})
    conn = _mocked_connector()
    with pytest.raises(RetriableCrmError) as caught:
        conn._call_once(lambda sf: sf.query("SELECT Id FROM Account"), "query Account")
    assert caught.value.retry_after == 7.0 and caught.value.status == 429


@responses.activate
def test_unable_to_lock_row_is_retried_then_succeeds() -> None:
    responses.get(_query_url(), status=400, json=[{"message": "unable to obtain exclusive access", "errorCode": "UNABLE_TO_LOCK_ROW"}])
    responses.get(_query_url(), json={"totalSize": 0, "done": True, "records": []})
    conn = _mocked_connector()
    assert conn._call(lambda sf: sf.query("SELECT Id FROM Account"))["done"] is True
    assert conn.api_calls == 2


@responses.activate
def test_timeouts_and_dropped_connections_are_retriable() -> None:
    responses.get(_query_url(), body=requests.exceptions.ReadTimeout("slow"))
    responses.get(_query_url(), body=requests.exceptions.ChunkedEncodingError("cut"))
    responses.get(_query_url(), json={"totalSize": 0, "done": True, "records": []})
    conn = _mocked_connector()
    assert conn._call(lambda sf: sf.query("SELECT Id FROM Account"))["totalSize"] == 0
    assert conn.api_calls == 3


@responses.activate
def test_deleted_entity_is_skippable_when_read_by_id() -> None:
    responses.get(f"{SF}/services/data/v59.0/sobjects/Account/001000000000001AAA", status=404,
                  json=[{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}])
    conn = _mocked_connector()
    with pytest.raises(SkippableRecordError):
        conn._call(lambda sf: sf.Account.get("001000000000001AAA"))


def test_translation_covers_login_failures_and_tls_problems() -> None:
    login = translate_error(SalesforceAuthenticationFailed("INVALID_LOGIN", "bad password"))
    assert isinstance(login, FatalCrmError) and "SF_PASSWORD" in (login.next_step or "")
    tls = translate_error(requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED"))
    assert isinstance(tls, FatalCrmError) and "TERRITORY_CA_FILE" in (tls.next_step or "")
    dropped = translate_error(requests.exceptions.ConnectionError("reset"), retry_after=2.0)
    assert isinstance(dropped, RetriableCrmError) and not isinstance(dropped, SessionExpiredError)
    assert dropped.retry_after == 2.0


@responses.activate
def test_repeated_next_records_url_is_fatal_instead_of_looping() -> None:
    loop = "/services/data/v59.0/query/01g000000000000001-2000"
    page = {"totalSize": 4000, "done": False, "nextRecordsUrl": loop, "records": []}
    responses.get(f"{SF}/services/data/v59.0/queryAll/", json=page)
    responses.get(f"{SF}{loop}", json=page)
    conn = _mocked_connector()
    with pytest.raises(FatalCrmError) as caught:
        drain(conn, ObjectKind.ACCOUNTS)
    assert caught.value.code == "PAGINATION_LOOP"
    assert conn.api_calls == 2
