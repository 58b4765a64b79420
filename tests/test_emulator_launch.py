"""Launcher: env file with every key a client needs, a CA that outlives the server, real clients."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests
from hubspot import HubSpot
from simple_salesforce import Salesforce, format_soql

from territory.config.settings import load_settings
from territory.emulator import launch
from territory.emulator.launch import EmulatorSetupError, start_emulator

ACCOUNTS = 250


def test_env_file_holds_both_crms_and_a_surviving_ca_when_written(tmp_path: Path) -> None:
    env_path = tmp_path / "conf" / "sandbox.env"
    with start_emulator(accounts=ACCOUNTS, seed=2) as emu:
        ca_copy = emu.write_env_file(env_path, crm="hubspot")
        text = env_path.read_text()
        server_ca = emu.ca_file
        assert server_ca.exists()
    values = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert set(values) == set(launch.ENV_KEYS)
    assert values["TERRITORY_CRM"] == "hubspot"
    assert values["SF_INSTANCE_URL"].startswith("https://127.0.0.1:")
    assert values["HUBSPOT_BASE_URL"].startswith("http://127.0.0.1:")
    assert values["SF_ACCESS_TOKEN"] == values["HUBSPOT_ACCESS_TOKEN"] != ""
    assert Path(values["TERRITORY_CA_FILE"]) == ca_copy == env_path.with_name("sandbox.env.ca.pem")
    assert not server_ca.exists() and ca_copy.exists(), "the copy survives the server's temp dir"
    assert "BEGIN CERTIFICATE" in ca_copy.read_text()
    assert env_path.stat().st_mode & 0o077 == 0, "the env file holds a token: owner-only"


def test_written_settings_load_and_validate_when_read_by_the_agent(tmp_path: Path) -> None:
    env_path = tmp_path / ".env"
    with start_emulator(accounts=ACCOUNTS, seed=2) as emu:
        emu.write_env_file(env_path)
        settings = load_settings(env_file=env_path)
        assert settings.require_crm() == "salesforce"
        assert settings.salesforce_auth_mode() == "session"
        assert settings.sf_instance_url == emu.https_url and settings.hubspot_base_url == emu.http_url
        assert settings.territory_ca_file is not None and settings.territory_ca_file.exists()


def test_portal_id_in_env_is_the_hub_id_the_token_reports_when_hubspot_is_emulated() -> None:
    with start_emulator(accounts=ACCOUNTS, seed=2) as emu:
        env = emu.env("hubspot")
        info = requests.post(env["HUBSPOT_BASE_URL"] + "/oauth/v2/private-apps/get/access-token-info",
                             json={"tokenKey": env["HUBSPOT_ACCESS_TOKEN"]}, timeout=10,
                             headers={"Authorization": f"Bearer {env['HUBSPOT_ACCESS_TOKEN']}"}).json()
    assert env["HUBSPOT_PORTAL_ID"] == str(info["hubId"])


def test_official_clients_reach_the_emulator_when_given_its_env(tmp_path: Path) -> None:
    with start_emulator(accounts=ACCOUNTS, seed=2) as emu:
        env = emu.env()
        session = requests.Session()
        session.trust_env = False  # CI sets REQUESTS_CA_BUNDLE, which would override verify
        session.verify = env["TERRITORY_CA_FILE"]
        sf = Salesforce(instance_url=env["SF_INSTANCE_URL"], session_id=env["SF_ACCESS_TOKEN"], session=session)
        assert sf.query("SELECT Id FROM Account")["totalSize"] == ACCOUNTS
        hubspot = HubSpot(access_token=env["HUBSPOT_ACCESS_TOKEN"], host=env["HUBSPOT_BASE_URL"])
        page = hubspot.crm.companies.basic_api.get_page(limit=10)
        assert len(page.results) == 10
        assert emu.state.api_calls["salesforce"] >= 1 and emu.state.api_calls["hubspot"] >= 1


def test_missing_api_module_fails_clearly_when_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(launch.FLAVOURS, "hubspot", ("territory.emulator.no_such_module", "HubSpotApi"))
    with pytest.raises(EmulatorSetupError, match="hubspot API of the emulator is not available") as info:
        start_emulator(accounts=10)
    assert "serve only the other CRM" in info.value.next_step
    assert launch.available_flavours() == ["salesforce"]


def test_port_in_use_fails_with_next_step_when_started() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EmulatorSetupError, match=f"port {port} .* in use") as info:
            start_emulator(accounts=10, port=port)
    assert "--port" in info.value.next_step


@pytest.mark.parametrize(("kwargs", "fragment"), [({"fault_rate": 1.5}, "outside 0..1"),
                                                   ({"flavours": ("oracle",)}, "unknown CRM API")])
def test_bad_arguments_fail_clearly_when_started(kwargs: dict, fragment: str) -> None:
    with pytest.raises(EmulatorSetupError, match=fragment):
        start_emulator(accounts=10, **kwargs)


def test_fault_rate_reaches_the_server_when_started() -> None:
    with start_emulator(accounts=10, fault_rate=0.25, seed=9, flavours=("hubspot",)) as emu:
        assert emu.server.faults.rate == 0.25 and emu.flavour_names == ("hubspot",)
        assert emu.control.status()["counts"]["accounts"]["total"] == 10


def test_control_edits_show_through_both_apis_when_made(tmp_path: Path) -> None:
    with start_emulator(accounts=60, seed=4) as emu:
        env = emu.env()
        session = requests.Session()
        session.trust_env = False
        session.verify = env["TERRITORY_CA_FILE"]
        sf = Salesforce(instance_url=env["SF_INSTANCE_URL"], session_id=env["SF_ACCESS_TOKEN"], session=session)
        hubspot = HubSpot(access_token=env["HUBSPOT_ACCESS_TOKEN"], host=env["HUBSPOT_BASE_URL"])
        created = emu.control.create("accounts", {"name": "Neuland Robotik GmbH", "domain": "neuland-robotik.de"})
        gone = emu.control.delete("accounts", next(iter(emu.state.accounts)))
        live = sf.query("SELECT Id, Name FROM Account")["records"]
        assert created["sf_id"] in {r["Id"] for r in live} and gone["sf_id"] not in {r["Id"] for r in live}
        assert len(live) == 60
        companies = hubspot.crm.companies.get_all(properties=["name", "domain"])
        by_id = {c.id: c.properties for c in companies}
        assert by_id[created["hs_id"]]["domain"] == "neuland-robotik.de" and gone["hs_id"] not in by_id
        emu.control.update("accounts", created["n"], {"name": "Neuland Robotics GmbH"})
        row = sf.query(format_soql("SELECT Name FROM Account WHERE Id = {}", created["sf_id"]))["records"][0]
        assert row["Name"] == "Neuland Robotics GmbH"
