"""Helpers for the HubSpot tests: hand-built states, a running emulator, a connector."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hubspot import HubSpot
from urllib3.util.retry import Retry

from territory.connector.hubspot import HubSpotConnector
from territory.connector.records import ChangeCursor, ChangePage, ObjectKind
from territory.connector.retry import RetryPolicy
from territory.emulator.hubspot_api import HubSpotApi
from territory.emulator.server import EmulatorServer, FaultPlan
from territory.emulator.state import CrmState, EmuAccount, EmuOpportunity, EmuOwner

T0 = datetime(2025, 6, 1, tzinfo=UTC)
FAST = RetryPolicy(max_attempts=5, min_wait=0.0, base_wait=0.0)
TOKEN = "emulator-token"


def make_state(
    companies: int = 10, owners: int = 3, *, step: timedelta = timedelta(seconds=1), start: datetime = T0
) -> CrmState:
    """Owners 1..owners (the last inactive when owners > 2); companies n=1000.. with distinct stamps."""
    state = CrmState(start=start + step * (companies + 10))
    for n in range(1, owners + 1):
        state.owners[n] = EmuOwner(n, f"Rep{n}", f"Last{n}", f"rep{n}@example.de",
                                   is_active=not (owners > 2 and n == owners), teams=["Nord"],
                                   modified_at=start)
    for i in range(companies):
        n = 1000 + i
        state.accounts[n] = EmuAccount(
            n, f"Firma {n} GmbH", owner_n=1 + i % max(1, owners - 1), domain=f"WWW.Firma{n}.de",
            city="Köln", postal_code="50667", country="DE", lat=50.94, lon=6.96,
            industry="Manufacturing", employees=10 + i, annual_revenue=1e6 + i,
            modified_at=start + step * i, created_at=start,
        )
    state._next_n = 10_000_000
    return state


def add_deal(state: CrmState, n: int, company_n: int | None, *, closed: bool = False,
             at: datetime = T0) -> EmuOpportunity:
    deal = EmuOpportunity(n, f"Deal {n}", company_n, 1, 5000.0, "Closed Won" if closed else "Qualified To Buy",
                          date(2026, 3, 31), is_closed=closed, modified_at=at, created_at=at)
    state.opportunities[n] = deal
    return deal


@contextmanager
def running(state: CrmState, faults: FaultPlan | None = None, tokens: set[str] | None = None,
            **api: Any) -> Iterator[EmulatorServer]:
    """The emulator serving only the HubSpot API, stopped afterwards."""
    with EmulatorServer(state, [HubSpotApi(**api)], faults=faults, tokens=tokens) as server:
        yield server


def hubspot_api(server: EmulatorServer) -> HubSpotApi:
    api = server.flavours[0]
    assert isinstance(api, HubSpotApi)
    return api


def raw_client(server: EmulatorServer, token: str = TOKEN) -> HubSpot:
    """The official client pointed at the emulator, urllib3 retries off (it would retry 429s)."""
    return HubSpot(access_token=token, host=server.http_url, retry=Retry(total=False))


def connector_for(server: EmulatorServer, *, token: str = TOKEN, sleep: Callable[[float], None] | None = None,
                  policy: RetryPolicy = FAST, **kw: Any) -> HubSpotConnector:
    return HubSpotConnector(token, server.http_url, policy=policy,
                            sleep=sleep or (lambda s: None), **kw)


def drain(connector: HubSpotConnector, kind: ObjectKind, cursor: ChangeCursor | None = None,
          *, full: bool = False) -> tuple[list[ChangePage], ChangeCursor | None]:
    """All pages of one read and the last page's cursor (the input cursor when none)."""
    pages = list(connector.iter_changes(kind, cursor, full=full))
    return pages, (pages[-1].cursor if pages else cursor)


def ids(pages: list[ChangePage]) -> list[str]:
    return [r.id for p in pages for r in p.records]
