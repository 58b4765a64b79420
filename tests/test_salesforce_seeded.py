"""The connector against a seeded emulator with injected faults: every account exactly once."""

from __future__ import annotations

from territory.config.settings import load_settings
from territory.connector.records import ObjectKind
from territory.connector.salesforce import SalesforceConnector
from territory.emulator.launch import start_emulator
from tests.salesforce_support import FAST


def test_every_seeded_account_arrives_exactly_once_when_faults_are_injected() -> None:
    with start_emulator(accounts=9000, fault_rate=0.3, flavours=("salesforce",), seed=3) as emu:
        settings = load_settings(env_file=None, **{k.lower(): v for k, v in emu.env("salesforce").items()
                                                   if k.lower() in ("territory_crm", "territory_ca_file",
                                                                    "sf_instance_url", "sf_access_token")})
        waits: list[float] = []
        conn = SalesforceConnector.from_settings(settings, policy=FAST, sleep=waits.append)
        pages = list(conn.iter_changes(ObjectKind.ACCOUNTS, None))
        live = {n for n, a in emu.state.accounts.items() if not a.deleted}
        malformed = {n for n, a in emu.state.accounts.items() if a.malformed}
        injected = sum(emu.server.faults.injected.values())
    got = [r.id for p in pages for r in p.records]
    skipped = {s.record_id for p in pages for s in p.skipped}
    assert len(got) == len(set(got)) == len(live)  # malformed ones stored, their bad field empty
    assert len(skipped) == len(malformed) > 0
    assert injected > 0
    assert conn.api_calls == 5 + injected  # 5 pages; every injected fault cost exactly one retry

