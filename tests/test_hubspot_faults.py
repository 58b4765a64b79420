"""HubSpot error translation and recovery: re-auth, retries, fatal scopes and bad requests."""

from __future__ import annotations

import pytest
import urllib3
from hubspot.crm.companies.exceptions import ApiException, ForbiddenException
from hubspot.crm.owners.exceptions import UnauthorizedException

from territory.connector.errors import FatalCrmError, RetriableCrmError, SessionExpiredError
from territory.connector.hubspot import translate_error
from territory.connector.hubspot.errors import is_client_error
from territory.connector.records import ObjectKind
from territory.emulator.server import FaultPlan
from tests.hubspot_support import (
    connector_for,
    drain,
    hubspot_api,
    ids,
    make_state,
    raw_client,
    running,
)

ACCOUNTS = ObjectKind.ACCOUNTS


def test_expired_session_reauthenticates_once_and_succeeds_when_401_is_transient() -> None:
    state = make_state(150)
    with running(state, faults=FaultPlan(script=["expired_session"])) as server:
        conn = connector_for(server)
        pages, _ = drain(conn, ACCOUNTS)
    assert len(ids(pages)) == 150
    assert conn.client.reauthentications == 1
    assert conn.api_calls == 1 + 1 + 2  # failed call, its retry, then the second list page


def test_revoked_token_is_fatal_naming_the_setting_when_reauth_does_not_help() -> None:
    with running(make_state(3), tokens={"another-token"}) as server:
        conn = connector_for(server, token="revoked")
        with pytest.raises(FatalCrmError) as info:
            drain(conn, ACCOUNTS)
    assert "HUBSPOT_ACCESS_TOKEN invalid or revoked" in str(info.value)
    assert info.value.status == 401
    assert conn.client.reauthentications == 3 and conn.api_calls == 6  # three rounds, then fatal


def test_consecutive_stray_401s_are_ridden_out_when_the_token_is_valid() -> None:
    script = ["expired_session", "expired_session", "expired_session"]
    with running(make_state(5), faults=FaultPlan(script=script)) as server:
        conn = connector_for(server)
        pages, _ = drain(conn, ACCOUNTS)
    assert len(ids(pages)) == 5 and conn.client.reauthentications == 2


def test_rate_limit_is_retried_after_retry_after_seconds_when_429() -> None:
    waits: list[float] = []
    with running(make_state(5), faults=FaultPlan(script=["rate_limit", "rate_limit"])) as server:
        conn = connector_for(server, sleep=waits.append)
        pages, _ = drain(conn, ACCOUNTS)
    assert len(ids(pages)) == 5
    assert waits == [1.0, 1.0]  # the emulator's Retry-After
    assert conn.api_calls == 2 + 2


@pytest.mark.parametrize("fault", ["server_error", "drop_connection"])
def test_transient_failure_is_retried_with_backoff_when_server_fails(fault: str) -> None:
    waits: list[float] = []
    with running(make_state(5), faults=FaultPlan(script=[fault])) as server:
        conn = connector_for(server, sleep=waits.append)
        pages, _ = drain(conn, ACCOUNTS)
    assert len(ids(pages)) == 5
    assert len(waits) == 1 and conn.api_calls == 3


def test_missing_scope_is_fatal_and_names_the_scope_when_403() -> None:
    with running(make_state(3), scopes={"crm.objects.owners.read"}) as server:
        conn = connector_for(server)
        with pytest.raises(FatalCrmError) as info:
            drain(conn, ACCOUNTS)
    error = info.value
    assert error.status == 403 and error.code == "MISSING_SCOPES"
    assert "crm.objects.companies.read" in str(error)
    assert error.next_step is not None and "private app" in error.next_step
    assert conn.api_calls == 1  # fatal: not retried


def test_bad_request_is_fatal_with_correlation_id_when_400() -> None:
    with running(make_state(3)) as server:
        conn = connector_for(server)
        search = conn.client.api("companies.search")
        body = {"filterGroups": [{"filters": [{"propertyName": "name", "operator": "LIKE", "value": "x"}]}]}
        with pytest.raises(FatalCrmError) as info:
            conn.client.call(lambda kw: search.do_search(body, **kw))
    assert info.value.status == 400 and info.value.code == "VALIDATION_ERROR"
    assert "correlationId" in str(info.value)


def test_paging_past_the_search_cap_is_a_validation_error_when_asked_directly() -> None:
    with running(make_state(30), search_cap=20) as server:
        client = raw_client(server)
        with pytest.raises(ApiException) as info:
            client.crm.companies.search_api.do_search({"limit": 10, "after": "20"})
    assert info.value.status == 400 and "VALIDATION_ERROR" in info.value.body


def test_translation_covers_every_client_package_and_urllib3_when_errors_are_raised() -> None:
    forbidden = ForbiddenException(status=403, reason="Forbidden")
    forbidden.body = '{"status":"error","message":"nope","category":"MISSING_SCOPES","errors":[{"context":{"requiredGranularScopes":["crm.objects.deals.read"]}}]}'
    unauthorized = UnauthorizedException(status=401, reason="Unauthorized")
    throttled = ApiException(status=429, reason="Too Many Requests")
    throttled.body = '{"status":"error","policyName":"TEN_SECONDLY_ROLLING","errorType":"RATE_LIMIT"}'
    throttled.headers = {"Retry-After": "2"}
    daily = ApiException(status=429, reason="Too Many Requests")
    daily.body = '{"status":"error","policyName":"DAILY","errorType":"RATE_LIMIT","message":"daily"}'
    dropped = urllib3.exceptions.ProtocolError("Connection aborted.")
    for exc in (forbidden, unauthorized, throttled, daily, dropped):
        assert is_client_error(exc)
    assert "crm.objects.deals.read" in str(translate_error(forbidden))
    assert isinstance(translate_error(unauthorized), SessionExpiredError)
    retriable = translate_error(throttled)
    assert isinstance(retriable, RetriableCrmError) and retriable.retry_after == 2.0
    assert isinstance(translate_error(daily), FatalCrmError)
    assert type(translate_error(dropped)) is RetriableCrmError
    assert isinstance(translate_error(ApiException(status=503)), RetriableCrmError)
    assert isinstance(translate_error(ApiException(status=409)), FatalCrmError)


def test_emulator_rejects_more_than_100_batch_inputs_when_batch_read() -> None:
    with running(make_state(3)) as server:
        client = raw_client(server)
        with pytest.raises(ApiException) as info:
            client.crm.companies.batch_api.read({"properties": [], "inputs": [{"id": str(i)} for i in range(101)]})
        assert hubspot_api(server).search_cap == 10_000
    assert info.value.status == 400 and "VALIDATION_ERROR" in info.value.body


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_company_arrives_exactly_once_when_one_call_in_five_fails(seed: int) -> None:
    from territory.emulator.seed import seed_state
    from territory.emulator.state import CrmState

    state = CrmState()
    seed_state(state, accounts=1500, seed=seed)
    faults = FaultPlan(rate=0.2, seed=seed)
    with running(state, faults=faults) as server:
        conn = connector_for(server)
        pages, cursor = drain(conn, ACCOUNTS)
        for n in sorted(state.accounts)[:40]:
            state.touch(state.accounts[n], city="Ulm")
        later, _ = drain(conn, ACCOUNTS, cursor)
    expected = {str(n) for n in state.accounts}  # malformed ones too, their bad field empty
    got = ids(pages)
    assert len(got) == len(set(got)) and set(got) == expected
    assert {r.id for p in later for r in p.records} == {str(n) for n in sorted(state.accounts)[:40]}
    assert sum(faults.injected.values()) >= 3  # the run really went through faults


def test_access_check_fails_fast_and_names_the_network_when_host_is_unreachable() -> None:
    from territory.connector.hubspot import HubSpotConnector
    from tests.hubspot_support import FAST

    waits: list[float] = []
    conn = HubSpotConnector("t", "http://127.0.0.1:9", policy=FAST, sleep=waits.append)
    checks = conn.check_access()
    assert checks[0][0] == "hubspot token" and checks[0][1] is False
    assert "not reachable" in checks[0][2] and "HUBSPOT_BASE_URL" in checks[0][2]
    assert len(waits) == 2 and conn.api_calls == 3 and conn.client.policy is FAST
