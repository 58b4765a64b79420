"""The emulator's control API over HTTP and in-process: edits, deletes, faults, tokens, mutation."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import pytest

from territory.emulator.control import EmulatorControl, install_control
from territory.emulator.mutate import mutate_state
from territory.emulator.seed import seed_state
from territory.emulator.server import (
    ApiFlavour,
    EmulatorServer,
    FaultPlan,
    Request,
    Response,
    Router,
)
from territory.emulator.state import CrmState, sf_id

TOKEN = "test-token"


class DummyApi(ApiFlavour):
    """A minimal API flavour: one route and recognisable fault/401 bodies."""

    name = "dummy"
    path_prefix = "/dummy"

    def register(self, router: Router) -> None:
        router.add("GET", r"/dummy/ping", lambda req: Response(200, {"pong": True}))

    def fault_response(self, kind: str) -> Response:
        headers = {"Retry-After": "2"} if kind == "rate_limit" else {}
        return Response(429 if kind == "rate_limit" else 503, {"dummy_fault": kind}, headers)

    def unauthorized(self) -> Response:
        return Response(401, {"dummy": "unauthorized"})

    def not_found(self, path: str) -> Response:
        return Response(404, {"dummy": "not found"})


@pytest.fixture()
def emu() -> Iterator[tuple[EmulatorServer, EmulatorControl]]:
    state = CrmState()
    seed_state(state, accounts=300, seed=4)
    server = EmulatorServer(state, [DummyApi()], tokens={TOKEN})
    control = install_control(server)
    server.start()
    try:
        yield server, control
    finally:
        server.stop()


def call(server: EmulatorServer, method: str, path: str, body: Any = None,
         token: str | None = None) -> tuple[int, Any, dict[str, str]]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(server.http_url + path, data=data, method=method, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null"), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), dict(exc.headers)


def test_edit_bumps_modified_time_when_posted_like_a_human(emu: tuple[EmulatorServer, EmulatorControl]) -> None:
    server, _ = emu
    state = server.state
    account = next(a for a in state.accounts.values() if a.owner_n is not None)
    newest_before = max(a.modified_at for a in state.accounts.values())
    other_owner = next(n for n in state.owners if n != account.owner_n)
    status, body, _ = call(server, "POST", f"/_emulator/records/accounts/{sf_id('account', account.n)}",
                           {"industry": "MedTech", "owner_id": sf_id("owner", other_owner), "employees": "42"})
    assert status == 200
    assert (body["industry"], body["owner_n"], body["employees"]) == ("MedTech", other_owner, 42)
    assert body["owner_sf_id"] == sf_id("owner", other_owner) and body["owner_hs_id"] == str(other_owner)
    assert account.industry == "MedTech" and account.modified_at > newest_before
    assert body["modified_at"] == account.modified_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_delete_shows_as_deleted_when_archived(emu: tuple[EmulatorServer, EmulatorControl]) -> None:
    server, _ = emu
    n = next(iter(server.state.opportunities))
    status, body, _ = call(server, "DELETE", f"/_emulator/records/opportunities/{n}")
    assert status == 200 and body["is_deleted"] is True
    stamp = server.state.opportunities[n].modified_at
    assert call(server, "DELETE", f"/_emulator/records/opportunities/{n}")[0] == 200
    assert server.state.opportunities[n].modified_at == stamp, "a second delete changes nothing"
    _, everything, _ = call(server, "GET", "/_emulator/records/opportunities")
    _, live, _ = call(server, "GET", "/_emulator/records/opportunities?include_deleted=false")
    assert [r["is_deleted"] for r in everything if r["n"] == n] == [True]
    assert n not in {r["n"] for r in live} and len(everything) == len(live) + 1


def test_owner_delete_deactivates_when_requested(emu: tuple[EmulatorServer, EmulatorControl]) -> None:
    server, _ = emu
    n = next(n for n, o in server.state.owners.items() if o.is_active)
    status, body, _ = call(server, "DELETE", f"/_emulator/records/owners/{n}")
    assert status == 200 and body["is_active"] is False and not server.state.owners[n].is_active


def test_create_returns_new_record_with_both_ids_when_posted(emu: tuple[EmulatorServer, EmulatorControl]) -> None:
    server, _ = emu
    account_n = next(iter(server.state.accounts))
    status, body, _ = call(server, "POST", "/_emulator/records/opportunities",
                           {"name": "Pilot", "account_id": str(account_n), "amount": 5000, "stage": "Closed Won"})
    assert status == 201 and body["is_closed"] is True and body["account_n"] == account_n
    assert body["sf_id"] == sf_id("opportunity", body["n"]) and body["hs_id"] == str(body["n"])
    assert server.state.opportunities[body["n"]].amount == 5000.0
    status, body, _ = call(server, "POST", "/_emulator/records/accounts", {"name": "Neu GmbH", "domain": "neu.de"})
    assert status == 201 and server.state.accounts[body["n"]].domain == "neu.de"


def test_since_filter_returns_only_later_changes_when_given(emu: tuple[EmulatorServer, EmulatorControl]) -> None:
    server, control = emu
    cut = server.state.now().isoformat().replace("+00:00", "Z")
    control.update("accounts", next(iter(server.state.accounts)), {"city": "Ulm"})
    _, rows, _ = call(server, "GET", f"/_emulator/records/accounts?since={cut}")
    assert [r["city"] for r in rows] == ["Ulm"]
    _, page, _ = call(server, "GET", "/_emulator/records/accounts?offset=10&limit=5")
    assert [r["n"] for r in page] == sorted(server.state.accounts)[10:15]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "fragment"),
    [("GET", "/_emulator/records/widgets", None, 404, "unknown kind"),
     ("GET", "/_emulator/records/accounts/999999", None, 404, "no account"),
     ("POST", "/_emulator/records/accounts/9", {"colour": "red"}, 400, "colour"),
     ("POST", "/_emulator/records/accounts", {"city": "Ulm"}, 400, "needs a name"),
     ("POST", "/_emulator/records/opportunities/001000000000009AAA", {"amount": 1}, 400, "not a valid opportunity id"),
     ("POST", "/_emulator/faults", {"rate": 2}, 400, "between 0 and 1")],
)
def test_bad_requests_get_clear_errors_when_sent(
    emu: tuple[EmulatorServer, EmulatorControl], method: str, path: str, body: Any, status: int, fragment: str
) -> None:
    server, _ = emu
    got, answer, _ = call(server, method, path, body)
    assert got == status and fragment in answer["error"]


def test_fault_rate_one_returns_the_flavours_fault_when_set(emu: tuple[EmulatorServer, EmulatorControl]) -> None:
    server, _ = emu
    assert call(server, "GET", "/dummy/ping", token=TOKEN)[:2] == (200, {"pong": True})
    assert call(server, "POST", "/_emulator/faults", {"rate": 1.0, "kinds": ["rate_limit"]})[0] == 200
    for _ in range(3):
        status, body, headers = call(server, "GET", "/dummy/ping", token=TOKEN)
        assert (status, body, headers["Retry-After"]) == (429, {"dummy_fault": "rate_limit"}, "2")
    status, state, _ = call(server, "GET", "/_emulator/state")  # control calls never fault
    assert status == 200 and state["faults"]["injected"] == {"rate_limit": 3}
    assert state["api_calls"]["dummy"] == 4, "only API calls are counted"


def test_scripted_faults_come_first_then_normal_answers_when_scripted(
    emu: tuple[EmulatorServer, EmulatorControl],
) -> None:
    server, control = emu
    control.set_faults(script=["server_error", "drop_connection"])
    assert call(server, "GET", "/dummy/ping", token=TOKEN)[:2] == (503, {"dummy_fault": "server_error"})
    with pytest.raises((urllib.error.URLError, http.client.RemoteDisconnected, ConnectionError)):
        call(server, "GET", "/dummy/ping", token=TOKEN)
    assert call(server, "GET", "/dummy/ping", token=TOKEN)[0] == 200


def test_expired_token_gets_401_until_a_new_token_is_added(emu: tuple[EmulatorServer, EmulatorControl]) -> None:
    server, _ = emu
    assert call(server, "POST", "/_emulator/expire-token", {})[1] == {"revoked": 1}
    assert call(server, "GET", "/dummy/ping", token=TOKEN)[:2] == (401, {"dummy": "unauthorized"})
    status, body, _ = call(server, "POST", "/_emulator/tokens", {})
    assert status == 201 and body["token"] != TOKEN
    assert call(server, "GET", "/dummy/ping", token=body["token"])[0] == 200
    assert call(server, "GET", "/dummy/ping", token=TOKEN)[0] == 401


def test_control_api_refuses_non_loopback_peers_when_called(emu: tuple[EmulatorServer, EmulatorControl]) -> None:
    server, _ = emu
    request = Request("GET", "/_emulator/state", {}, {}, b"", client="192.0.2.7")
    answer = server.handle(request)
    assert answer is not None and answer.status == 403
    local = server.handle(Request("GET", "/_emulator/state", {}, {}, b"", client="::1"))
    assert local is not None and local.status == 200


def test_fault_rate_is_honoured_statistically_when_drawn() -> None:
    plan = FaultPlan(rate=0.1, seed=3)
    draws = [plan.next_fault() for _ in range(5000)]
    faults = [d for d in draws if d is not None]
    assert 0.08 <= len(faults) / len(draws) <= 0.12
    assert set(faults) == set(plan.kinds) and sum(plan.injected.values()) == len(faults)
    again = FaultPlan(rate=0.1, seed=3)
    assert [again.next_fault() for _ in range(5000)] == draws, "deterministic for a seed"


def test_mutation_changes_about_the_fraction_when_requested(emu: tuple[EmulatorServer, EmulatorControl]) -> None:
    server, _ = emu
    state = server.state
    cut = state.now()
    status, report, _ = call(server, "POST", "/_emulator/mutate", {"fraction": 0.1, "seed": 9})
    assert status == 200
    touched = [a for a in state.accounts.values() if a.modified_at > cut]
    acc = report["accounts"]
    assert len(touched) == acc["updated"] + acc["deleted"] + acc["created"]
    assert acc["updated"] + acc["deleted"] == 30  # 10% of 300 live accounts
    assert sum(1 for a in touched if a.deleted) == acc["deleted"]
    opps = report["opportunities"]
    assert opps["updated"] + opps["deleted"] == 6
    assert sum(1 for o in state.opportunities.values() if o.modified_at > cut) == sum(opps.values())


def test_mutation_is_deterministic_and_includes_deletes_when_large() -> None:
    a, b = CrmState(), CrmState()
    for state in (a, b):
        seed_state(state, accounts=2000, seed=1)
    first = mutate_state(a, fraction=0.2, seed=3)
    assert first == mutate_state(b, fraction=0.2, seed=3)
    assert [asdict(x) for x in a.accounts.values()] == [asdict(x) for x in b.accounts.values()]
    assert first.accounts["deleted"] > 0 and first.opportunities["deleted"] > 0
    assert first.accounts["created"] > 0 and any(o.is_closed for o in a.opportunities.values())
    with pytest.raises(ValueError):
        mutate_state(a, fraction=1.5)
