"""Both connectors create accounts/companies for prospects exactly once (real clients, emulator)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from territory.connector.market import NewAccount
from territory.emulator.server import FaultPlan
from territory.emulator.state import CrmState
from tests import hubspot_support, salesforce_support

REQUESTS = (
    NewAccount(key="mkt-aaa", name="O'Brien & Söhne Ltd", owner_id="", description="From list 'fair'.",
               domain="obrien-soehne.de", street="Hauptstraße 1", postal_code="50667", city="Köln", country="DE",
               industry="Machinery", employees=42.0, annual_revenue=3_500_000.0, phone="+49 221 1"),
    NewAccount(key="mkt-bbb", name="Quellwerk Pumpen GmbH", owner_id="", description="From list 'fair'."),
)


@contextmanager
def _connector(crm: str, state: CrmState, faults: FaultPlan | None, sleep: Callable[[float], None]) -> Iterator[Any]:
    support: Any = hubspot_support if crm == "hubspot" else salesforce_support
    with support.running(state, faults=faults) as server:
        yield support.connector_for(server, sleep=sleep)


def _requests(crm: str) -> list[NewAccount]:
    owner = "1" if crm == "hubspot" else salesforce_support.owner_id(1)
    return [NewAccount(**{**r.__dict__, "owner_id": owner}) for r in REQUESTS]


def _state(crm: str) -> CrmState:
    return hubspot_support.make_state(3) if crm == "hubspot" else salesforce_support.make_state(3)


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_created_accounts_carry_owner_address_and_marker_and_are_found_again_when_created(crm: str) -> None:
    state = _state(crm)
    with _connector(crm, state, None, lambda s: None) as connector:
        results = connector.create_accounts(_requests(crm))
        assert all(r.ok and r.created_id for r in results)
        assert connector.find_created_accounts(_requests(crm)) == {"mkt-aaa": results[0].created_id,
                                                                   "mkt-bbb": results[1].created_id}
    made = {a.name: a for a in state.accounts.values() if a.name in {r.name for r in REQUESTS}}
    first = made["O'Brien & Söhne Ltd"]
    assert first.owner_n == 1 and first.street == "Hauptstraße 1" and first.postal_code == "50667"
    assert first.employees == 42 and first.domain and "obrien-soehne.de" in first.domain
    assert first.description is not None and first.description.endswith("[territory:mkt-aaa]")


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_create_is_sent_again_exactly_once_when_the_connection_dropped_before_it_arrived(crm: str) -> None:
    state, waits = _state(crm), []
    with _connector(crm, state, FaultPlan(script=["drop_connection"]), waits.append) as connector:
        results = connector.create_accounts(_requests(crm))
    assert all(r.ok for r in results)
    assert Counter(a.name for a in state.accounts.values() if a.name in {r.name for r in REQUESTS}) == Counter(
        {r.name: 1 for r in REQUESTS})


@pytest.mark.parametrize("crm", ["hubspot", "salesforce"])
def test_create_reuses_the_applied_record_when_its_answer_was_lost(crm: str) -> None:
    state = _state(crm)
    with _connector(crm, state, FaultPlan(script=["lost_response"]), lambda s: None) as connector:
        results = connector.create_accounts(_requests(crm))
    made = [a for a in state.accounts.values() if a.name in {r.name for r in REQUESTS}]
    assert len(made) == len(REQUESTS) and all(r.ok for r in results)


def test_hubspot_lookup_searches_again_after_settle_waits_when_a_key_is_not_found_yet() -> None:
    waits: list[float] = []
    with _connector("hubspot", _state("hubspot"), None, waits.append) as connector:
        assert connector.find_created_accounts(_requests("hubspot")) == {}
    assert waits == [2.0, 5.0]  # the search index lags writes: two more looks before "not created"
