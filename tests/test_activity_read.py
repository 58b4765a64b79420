"""The activity read behind the report's counts, with the real clients against the emulator:
HubSpot search past its result cap, Salesforce deletions through queryAll, the agent's marker."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import requests
from hubspot import HubSpot
from simple_salesforce import Salesforce

from territory.config import load_settings
from territory.connector.factory import build_connector
from territory.emulator import start_emulator
from territory.emulator.state import EmuActivity
from territory.sync import open_store
from territory.sync.activity import human_activity_counts, sync_activities
from tests.hubspot_support import connector_for, make_state, running


def test_hubspot_activity_read_restarts_from_the_last_stamp_when_results_exceed_the_search_cap() -> None:
    state = make_state(5)
    first_account = min(state.accounts)
    stamp = state.now()
    for n in range(1, 1001):  # 1,000 tasks, pairs sharing a stamp
        if n % 2:
            stamp = state.tick()
        body = "Please review [territory:k1]" if n % 100 == 0 else "Call notes"
        state.activities[n] = EmuActivity(n, "task", first_account, 1, f"Task {n}", body,
                                          created_at=stamp, modified_at=stamp)
    with running(state, search_cap=400) as server:
        changes = [c for page in connector_for(server, search_cap=400).iter_activity_changes(None) for c in page]
    assert {c.id for c in changes} == {f"tasks:{n}" for n in range(1, 1001)}
    assert {c.account_id for c in changes} == {str(first_account)}
    assert sum(c.by_agent for c in {c.id: c for c in changes}.values()) == 10
    newer = state.activities[901].modified_at
    with running(state, search_cap=400) as server:
        recent = [c for page in connector_for(server, search_cap=400).iter_activity_changes(newer) for c in page]
    assert {c.id for c in recent} == {f"tasks:{n}" for n in range(901, 1001)}


def test_salesforce_task_deleted_after_a_read_stops_counting_when_synced_again(tmp_path: Path) -> None:
    with start_emulator(accounts=20, seed=5) as emu:
        env = {k.lower(): v for k, v in emu.env("salesforce").items() if k != "TERRITORY_EMULATOR_URL"}
        settings = load_settings(env_file=None, territory_db_url=f"sqlite:///{tmp_path / 's.db'}", **env)
        store = open_store(settings.territory_db_url)
        session = requests.Session()
        session.trust_env = False
        session.verify = env["territory_ca_file"]
        sf = Salesforce(instance_url=env["sf_instance_url"], session_id=env["sf_access_token"], session=session)
        account = sf.query("SELECT Id FROM Account ORDER BY Id LIMIT 1")["records"][0]["Id"]
        today = datetime.now(UTC).date()
        kept = sf.Task.create({"Subject": "Visit", "WhatId": account, "ActivityDate": today.isoformat()})["id"]
        gone = sf.Task.create({"Subject": "Typo", "WhatId": account, "ActivityDate": today.isoformat()})["id"]
        sync_activities(build_connector(settings), store, "salesforce")
        counted = human_activity_counts(store, "salesforce", today, today)
        sf.Task.delete(gone)
        sync_activities(build_connector(settings), store, "salesforce")
        after = human_activity_counts(store, "salesforce", today, today)
        store.close()
    assert kept and counted == {account: 2} and after == {account: 1}


def test_hubspot_task_archived_stops_counting_when_a_full_read_no_longer_returns_it(tmp_path: Path) -> None:
    with start_emulator(accounts=20, seed=5) as emu:
        env = {k.lower(): v for k, v in emu.env("hubspot").items() if k != "TERRITORY_EMULATOR_URL"}
        settings = load_settings(env_file=None, territory_db_url=f"sqlite:///{tmp_path / 'h.db'}", **env)
        store = open_store(settings.territory_db_url)
        client = HubSpot(access_token=env["hubspot_access_token"], host=env["hubspot_base_url"])
        company = client.crm.companies.basic_api.get_page(limit=1).results[0].id
        today = datetime.now(UTC).date()
        ids = [client.crm.objects.tasks.basic_api.create({
            "properties": {"hs_task_subject": f"Call {k}", "hs_timestamp": f"{today.isoformat()}T09:00:00Z"},
            "associations": [{"to": {"id": company}, "types": [
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}]}]}).id for k in range(2)]
        sync_activities(build_connector(settings), store, "hubspot")
        counted = human_activity_counts(store, "hubspot", today, today)
        client.crm.objects.tasks.basic_api.archive(ids[0])
        sync_activities(build_connector(settings), store, "hubspot")
        incremental = human_activity_counts(store, "hubspot", today, today)
        sync_activities(build_connector(settings), store, "hubspot", full=True)
        full = human_activity_counts(store, "hubspot", today, today)
        store.close()
    assert counted == incremental == {company: 2}  # search does not return archived objects
    assert full == {company: 1}
