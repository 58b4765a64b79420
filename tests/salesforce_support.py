"""Helpers for the Salesforce tests: hand-built states, a running emulator, a connector."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import requests
from simple_salesforce import Salesforce

from territory.config.settings import load_settings
from territory.connector.records import ChangeCursor, ChangePage, ObjectKind
from territory.connector.retry import RetryPolicy
from territory.connector.salesforce import SalesforceConnector
from territory.emulator.salesforce_api import SalesforceApi
from territory.emulator.server import EmulatorServer, FaultPlan
from territory.emulator.state import CrmState, EmuAccount, EmuOpportunity, EmuOwner, sf_id

T0 = datetime(2025, 6, 1, tzinfo=UTC)
FAST = RetryPolicy(max_attempts=5, min_wait=0.0, base_wait=0.0)


def make_state(
    accounts: int = 10, owners: int = 3, *, step: timedelta = timedelta(hours=1), start: datetime = T0
) -> CrmState:
    """Owners 1..owners (the last one inactive if owners > 2), accounts with distinct stamps."""
    state = CrmState()
    for n in range(1, owners + 1):
        state.owners[n] = EmuOwner(n, f"Rep{n}", f"Last{n}", f"rep{n}@example.de",
                                   is_active=not (owners > 2 and n == owners), manager_n=1 if n > 1 else None)
    for i in range(accounts):
        n = 1000 + i
        state.accounts[n] = EmuAccount(
            n, f"Firma {n} GmbH", owner_n=1 + i % max(1, owners - 1), domain=f"firma{n}.de", city="Köln",
            postal_code="50667", country="DE", lat=50.94, lon=6.96, industry="Manufacturing",
            employees=10 + i, annual_revenue=1e6 + i, modified_at=start + step * i, created_at=start,
        )
    state._next_n = 10_000_000
    return state


def add_opportunity(state: CrmState, n: int, account_n: int, *, closed: bool = False, at: datetime = T0) -> EmuOpportunity:
    opp = EmuOpportunity(n, f"Deal {n}", account_n, 1, 5000.0, "Closed Won" if closed else "Prospecting",
                         date(2026, 3, 31), is_closed=closed, modified_at=at, created_at=at)
    state.opportunities[n] = opp
    return opp


@contextmanager
def running(state: CrmState, faults: FaultPlan | None = None, tokens: set[str] | None = None,
            **api: Any) -> Iterator[EmulatorServer]:
    server = EmulatorServer(state, [SalesforceApi(**api)], faults=faults, tokens=tokens)
    with server:
        yield server


def connector_for(server: EmulatorServer, *, token: str = "emulator-token",
                  sleep: Callable[[float], None] | None = None, policy: RetryPolicy = FAST) -> SalesforceConnector:
    settings = load_settings(
        env_file=None, territory_crm="salesforce", sf_instance_url=server.https_url,
        sf_access_token=token, territory_ca_file=server.ca_file,
    )
    return SalesforceConnector.from_settings(settings, policy=policy, sleep=sleep or (lambda s: None))


def raw_client(server: EmulatorServer, token: str = "emulator-token") -> Salesforce:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(server.ca_file)
    return Salesforce(instance_url=server.https_url, session_id=token, session=session, version="59.0")


def drain(conn: SalesforceConnector, kind: ObjectKind, cursor: ChangeCursor | None = None,
          *, full: bool = False) -> list[ChangePage]:
    return list(conn.iter_changes(kind, cursor, full=full))


def ids(pages: list[ChangePage]) -> list[str]:
    return [r.id for page in pages for r in page.records]


def account_id(n: int) -> str:
    return sf_id("account", n)


def owner_id(n: int) -> str:
    return sf_id("owner", n)
