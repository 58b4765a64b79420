"""HubSpotConnector reads with the real hubspot-api-client against the in-process emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from territory.config.settings import SettingsError, load_settings
from territory.connector.hubspot import HubSpotConnector
from territory.connector.records import (
    AccountRecord,
    ChangeCursor,
    ObjectKind,
    OpportunityRecord,
    closed_history_start,
)
from territory.emulator.state import EmuAccount
from tests.hubspot_support import T0, add_deal, connector_for, drain, ids, make_state, running

ACCOUNTS, DEALS, OWNERS = ObjectKind.ACCOUNTS, ObjectKind.OPPORTUNITIES, ObjectKind.OWNERS


def test_initial_load_pages_to_exhaustion_when_450_companies() -> None:
    state = make_state(450)
    with running(state) as server:
        conn = connector_for(server)
        pages, cursor = drain(conn, ACCOUNTS)
    assert [len(p.records) for p in pages] == [100, 100, 100, 100, 50]
    assert sorted(ids(pages)) == sorted(str(n) for n in state.accounts)
    assert len(set(ids(pages))) == 450
    assert [p.cursor.phase for p in pages] == ["initial"] * 4 + ["incremental"]
    assert cursor is not None and cursor.token == "archived=1748736449000"  # newest stamp at start
    # the load start comes from the newest stamp in the CRM (+1 ms): nothing older is re-read
    assert cursor.modified_at == T0 + timedelta(seconds=449, milliseconds=1)
    assert conn.api_calls == 1 + 5  # start probe + 5 list pages


def test_records_are_mapped_to_our_vocabulary_when_listed() -> None:
    state = make_state(1)
    with running(state) as server:
        pages, _ = drain(connector_for(server), ACCOUNTS)
    account = pages[0].records[0]
    assert account == AccountRecord(
        id="1000", name="Firma 1000 GmbH", modified_at=T0, owner_id="1", domain="firma1000.de",
        country="DE", postal_code="50667", city="Köln", lat=50.94, lon=6.96,
        industry="Manufacturing", employees=10, annual_revenue=1e6,
    )


def test_incremental_reads_edits_and_archives_when_changed_after_load() -> None:
    state = make_state(120)
    with running(state) as server:
        conn = connector_for(server)
        _, cursor = drain(conn, ACCOUNTS)
        state.touch(state.accounts[1005], city="Bonn")
        state.touch(state.accounts[1110], owner_n=2)
        state.delete(state.accounts[1007])
        calls_before = conn.api_calls
        pages, cursor2 = drain(conn, ACCOUNTS, cursor)
        records = [r for p in pages for r in p.records]
        assert conn.api_calls - calls_before == 2  # archived list + one search page
        by_id = {r.id: r for r in records}
        assert set(by_id) == {"1005", "1110", "1007"}
        assert by_id["1005"].city == "Bonn" and by_id["1110"].owner_id == "2"
        assert by_id["1007"].is_deleted
        # nothing changed: the next run reads nothing new and costs two calls
        calls_before = conn.api_calls
        pages3, cursor3 = drain(conn, ACCOUNTS, cursor2)
    assert ids(pages3) == []  # not even the deletion again: the archived mark moved past it
    assert conn.api_calls - calls_before == 2
    assert cursor3 == cursor2


def test_ties_on_modified_time_across_search_pages_are_neither_lost_nor_repeated() -> None:
    state = make_state(10)
    with running(state) as server:
        conn = connector_for(server)
        _, cursor = drain(conn, ACCOUNTS)
        for n in range(2000, 2450):  # a bulk import: 450 companies share one stamp
            state.accounts[n] = EmuAccount(n, f"Bulk {n}", 1, domain=f"bulk{n}.de")
        stamp = state.tick()
        for n in range(2000, 2450):
            state.accounts[n].modified_at = state.accounts[n].created_at = stamp
        pages, cursor2 = drain(conn, ACCOUNTS, cursor)
        got = ids(pages)
        # kill after the first search page and resume from its cursor: the rest, no repeats
        first_search = next(p for p in pages if p.records and not p.records[0].is_deleted)
        resumed, _ = drain(conn, ACCOUNTS, first_search.cursor)
    assert sorted(got) == [str(n) for n in range(2000, 2450)]
    assert len(got) == len(set(got))
    assert cursor2 is not None and cursor2.modified_at == stamp and len(cursor2.seen_ids) == 450
    assert set(ids(resumed)).isdisjoint(ids([first_search]))
    assert set(ids(resumed)) | set(ids([first_search])) == set(got)


def test_search_cap_restarts_from_last_stamp_when_results_exceed_cap() -> None:
    state = make_state(10)
    with running(state, search_cap=400) as server:
        conn = connector_for(server, search_cap=400)
        _, cursor = drain(conn, ACCOUNTS)
        for n in list(state.accounts)[:10]:
            state.touch(state.accounts[n], city="Essen")
        stamp = state.now()
        for k, n in enumerate(range(3000, 4000)):  # 1000 new companies, groups of 3 share a stamp
            if k % 3 == 0:
                stamp = state.tick()
            state.accounts[n] = EmuAccount(n, f"New {n}", 1, modified_at=stamp, created_at=stamp)
        pages, _ = drain(conn, ACCOUNTS, cursor)
    got = ids(pages)
    assert sorted(got) == sorted([str(n) for n in range(1000, 1010)] + [str(n) for n in range(3000, 4000)])
    assert len(got) == len(set(got))


def test_tie_group_larger_than_cap_is_paged_by_id_when_search_would_stall() -> None:
    state = make_state(5)
    with running(state, search_cap=200) as server:
        conn = connector_for(server, search_cap=200)
        _, cursor = drain(conn, ACCOUNTS)
        stamp = state.tick()
        for n in range(5000, 5650):
            state.accounts[n] = EmuAccount(n, f"Import {n}", 1, modified_at=stamp)
        pages, last = drain(conn, ACCOUNTS, cursor)
    got = ids(pages)
    assert sorted(got) == [str(n) for n in range(5000, 5650)]
    assert len(got) == len(set(got))
    assert last is not None and last.modified_at is not None and last.modified_at > stamp


def test_resume_from_mid_load_cursor_has_no_gap_and_no_duplicate_when_killed_after_page_k() -> None:
    state = make_state(450)
    with running(state) as server:
        conn = connector_for(server)
        it = conn.iter_changes(ACCOUNTS, None)
        first = [next(it), next(it)]  # pages 1-2 committed, then the process dies
        state.touch(state.accounts[1010], name="Edited During Load")  # an already-read record
        rest, cursor = drain(conn, ACCOUNTS, first[-1].cursor)
        assert first[-1].cursor.phase == "initial" and first[-1].cursor.token
        loaded = ids(first) + ids(rest)
        assert len(loaded) == 450 and len(set(loaded)) == 450
        inc, _ = drain(conn, ACCOUNTS, cursor)
    edited = [r for p in inc for r in p.records if r.id == "1010"]
    assert edited and edited[0].name == "Edited During Load"


def test_company_is_stored_with_employees_empty_and_a_warning_when_employees_is_not_a_number() -> None:
    state = make_state(5)
    state.accounts[1002].malformed = True
    with running(state) as server:
        pages, _ = drain(connector_for(server), ACCOUNTS)
    skipped = [s for p in pages for s in p.skipped]
    assert [(s.record_id, s.stored) for s in skipped] == [("1002", True)]
    assert "numberofemployees" in skipped[0].problem and "n/a" in skipped[0].problem
    stored = next(r for p in pages for r in p.records if r.id == "1002")
    assert stored.employees is None and stored.name and len(ids(pages)) == 5


def test_deals_first_sync_keeps_open_and_recently_closed_deals_and_later_sees_closing() -> None:
    state = make_state(3)
    today = datetime.now(UTC).date()
    add_deal(state, 7001, 1000)
    add_deal(state, 7002, 1001, closed=True).close_date = closed_history_start(today) - timedelta(days=1)
    add_deal(state, 7003, None)
    add_deal(state, 7004, 1002, closed=True).close_date = closed_history_start(today)
    with running(state) as server:
        conn = connector_for(server)
        pages, cursor = drain(conn, DEALS)
        first = {r.id: r for p in pages for r in p.records}
        assert set(first) == {"7001", "7003", "7004"}
        assert first["7004"].is_won is True and first["7004"].created_at == T0
        assert first["7001"].is_won is None
        assert first["7001"].account_id == "1000" and first["7003"].account_id is None
        state.touch(state.opportunities[7001], is_closed=True, stage="Closed Lost")
        pages2, _ = drain(conn, DEALS, cursor)
    later = [r for p in pages2 for r in p.records]
    assert len(later) == 1 and isinstance(later[0], OpportunityRecord)
    assert later[0].is_closed and later[0].account_id == "1000" and later[0].stage == "closedlost"
    assert later[0].is_won is False


def test_owners_listed_with_deactivated_ones_inactive_and_only_changes_later() -> None:
    state = make_state(1, owners=3)
    with running(state) as server:
        conn = connector_for(server)
        pages, cursor = drain(conn, OWNERS)
        owners = {r.id: r for p in pages for r in p.records}
        assert set(owners) == {"1", "2", "3"} and owners["3"].is_active is False
        assert owners["1"].teams == ("Nord",) and owners["1"].email == "rep1@example.de"
        assert conn.api_calls == 2
        state.touch(state.owners[2], last_name="Renamed")
        pages2, cursor2 = drain(conn, OWNERS, cursor)
        pages3, _ = drain(conn, OWNERS, cursor2)
    assert [r.name for p in pages2 for r in p.records] == ["Rep2 Renamed"]
    assert ids(pages3) == []


def test_committed_cursor_stays_behind_search_lag_when_changes_are_recent() -> None:
    state = make_state(3)
    with running(state) as server:
        # a lag longer than the emulator's distance to wall time: every stamp counts as recent
        conn = connector_for(server, search_lag=timedelta(days=100_000))
        _, cursor = drain(conn, ACCOUNTS)
        assert cursor is not None
        pages, cursor2 = drain(conn, ACCOUNTS, cursor)
    assert sorted(ids(pages)) == ["1000", "1001", "1002"]  # re-read rather than risk a miss
    assert cursor2 is not None and cursor2.seen_ids == frozenset()


def test_cursor_is_not_held_back_when_crm_clock_is_ahead_of_server_date() -> None:
    future = T0.replace(year=2100)
    state = make_state(3, start=future)
    with running(state) as server:
        conn = connector_for(server)
        _, cursor = drain(conn, ACCOUNTS)
        state.touch(state.accounts[1001], city="Trier")
        pages, cursor2 = drain(conn, ACCOUNTS, cursor)
        pages3, _ = drain(conn, ACCOUNTS, cursor2)
    assert ids(pages) == ["1001"]
    assert ids(pages3) == []  # stamps in "2100" are not treated as recent edits


def test_full_read_ignores_cursor_when_full_is_requested() -> None:
    state = make_state(30)
    with running(state) as server:
        conn = connector_for(server)
        pages, _ = drain(conn, ACCOUNTS, ChangeCursor(modified_at=T0 + timedelta(days=1)), full=True)
    assert len(ids(pages)) == 30


def test_connector_is_built_from_settings_when_token_and_base_url_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    with running(make_state(2)) as server:
        settings = load_settings(env_file=None, territory_crm="hubspot",
                                 hubspot_access_token="emulator-token", hubspot_base_url=server.http_url)
        conn = HubSpotConnector.from_settings(settings)
        pages, _ = drain(conn, ACCOUNTS)
    assert ids(pages) == ["1000", "1001"]
    with pytest.raises(SettingsError) as info:
        HubSpotConnector.from_settings(load_settings(env_file=None, territory_crm="hubspot"))
    assert info.value.variable == "HUBSPOT_ACCESS_TOKEN"
