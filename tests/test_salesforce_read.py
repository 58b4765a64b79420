"""SalesforceConnector reads: real simple-salesforce against the in-process emulator (TLS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from territory.connector.records import (
    AccountRecord,
    ChangeCursor,
    ObjectKind,
    OpportunityRecord,
    OwnerRecord,
    closed_history_start,
)
from tests.salesforce_support import (
    T0,
    account_id,
    add_opportunity,
    connector_for,
    drain,
    ids,
    make_state,
    owner_id,
    raw_client,
    running,
)


def test_reads_every_account_in_three_pages_when_4500_accounts() -> None:
    state = make_state(4500)
    with running(state) as server:
        conn = connector_for(server)
        pages = drain(conn, ObjectKind.ACCOUNTS)
    assert [len(p.records) for p in pages] == [2000, 2000, 500]
    assert sorted(ids(pages)) == sorted(account_id(n) for n in state.accounts)
    assert conn.api_calls == 3
    last = pages[-1].cursor
    assert last.modified_at == T0 + timedelta(hours=4499)
    assert last.seen_ids == {account_id(1000 + 4499)}


def test_maps_fields_into_our_vocabulary_when_reading_accounts() -> None:
    state = make_state(3)
    state.accounts[1001].parent_n = 1000
    with running(state) as server:
        records = [r for p in drain(connector_for(server), ObjectKind.ACCOUNTS) for r in p.records]
    first = records[0]
    assert isinstance(first, AccountRecord)
    assert (first.name, first.owner_id, first.domain, first.city, first.postal_code, first.country) == (
        "Firma 1000 GmbH", owner_id(1), "firma1000.de", "Köln", "50667", "DE")
    assert (first.lat, first.lon, first.employees, first.annual_revenue) == (50.94, 6.96, 10, 1e6)
    assert first.modified_at == T0
    # the emulator serves Website as "https://www.x", "x" and "http://x/about"
    assert [r.domain for r in records] == ["firma1000.de", "firma1001.de", "firma1002.de"]
    assert records[1].parent_id == account_id(1000)


def test_incremental_returns_edits_and_deletes_when_records_change() -> None:
    state = make_state(50)
    with running(state) as server:
        conn = connector_for(server)
        cursor = drain(conn, ObjectKind.ACCOUNTS)[-1].cursor
        state.touch(state.accounts[1003], name="Renamed AG")
        state.delete(state.accounts[1007])
        calls_before = conn.api_calls
        pages = drain(conn, ObjectKind.ACCOUNTS, cursor)
    changed = {r.id: r for p in pages for r in p.records}
    assert set(changed) == {account_id(1003), account_id(1007)}  # 1049 sits at the cursor: already seen
    assert changed[account_id(1003)].name == "Renamed AG"
    assert changed[account_id(1007)].is_deleted is True
    assert conn.api_calls - calls_before == 1
    assert pages[-1].cursor.modified_at == state.accounts[1007].modified_at


def test_incremental_costs_one_call_and_returns_nothing_new_when_nothing_changed() -> None:
    state = make_state(20, step=timedelta(minutes=5))
    with running(state) as server:
        conn = connector_for(server)
        cursor = drain(conn, ObjectKind.ACCOUNTS)[-1].cursor
        before = conn.api_calls
        pages = drain(conn, ObjectKind.ACCOUNTS, cursor)
    assert conn.api_calls - before == 1
    assert ids(pages) == []
    assert pages[-1].cursor == cursor


def test_ties_across_a_page_boundary_are_neither_lost_nor_duplicated_when_resuming() -> None:
    state = make_state(10)
    tie = T0 + timedelta(days=30)
    for i in range(2600):  # a bulk import: 2,600 records share one SystemModstamp
        n = 5000 + i
        state.accounts[n] = type(state.accounts[1000])(n, f"Bulk {n}", 1, modified_at=tie, created_at=tie)
    with running(state) as server:
        conn = connector_for(server)
        first_page = next(iter(conn.iter_changes(ObjectKind.ACCOUNTS, None)))  # killed after one page
        assert first_page.cursor.modified_at == tie
        assert len(first_page.cursor.seen_ids) == 1990
        resumed = drain(connector_for(server), ObjectKind.ACCOUNTS, first_page.cursor)
    got = [r.id for r in first_page.records] + ids(resumed)
    assert len(got) == len(set(got)) == 2610
    final = resumed[-1].cursor
    assert final.modified_at == tie and len(final.seen_ids) == 2600


def test_resume_from_a_mid_stream_cursor_reads_exactly_the_rest_when_killed_after_page_one() -> None:
    state = make_state(4500)
    with running(state) as server:
        pages = iter(connector_for(server).iter_changes(ObjectKind.ACCOUNTS, None))
        first = next(pages)
        rest = drain(connector_for(server), ObjectKind.ACCOUNTS, first.cursor)
    got = [r.id for r in first.records] + ids(rest)
    assert len(got) == len(set(got)) == 4500
    assert len(rest) == 2  # the first resumed page drops the one record already seen at the cursor


def test_first_read_takes_open_and_recently_closed_opportunities_and_later_reads_learn_closures() -> None:
    state = make_state(3)
    today = datetime.now(UTC).date()
    add_opportunity(state, 7001, 1000)
    add_opportunity(state, 7002, 1001, closed=True).close_date = closed_history_start(today) - timedelta(days=1)
    add_opportunity(state, 7003, 1002, at=T0 + timedelta(hours=1))
    won = add_opportunity(state, 7004, 1002, closed=True, at=T0 + timedelta(hours=2))
    won.close_date = closed_history_start(today)
    with running(state) as server:
        conn = connector_for(server)
        first = drain(conn, ObjectKind.OPPORTUNITIES)
        state.touch(state.opportunities[7001], stage="Closed Lost", is_closed=True)
        later = drain(conn, ObjectKind.OPPORTUNITIES, first[-1].cursor)
    got = {r.id: r for r in first[0].records}
    assert list(got) == ["006000000007001AAA", "006000000007003AAA", "006000000007004AAA"]
    recent = got["006000000007004AAA"]
    assert isinstance(recent, OpportunityRecord) and recent.is_closed and recent.is_won is True
    assert recent.created_at == T0 + timedelta(hours=2) and got["006000000007001AAA"].is_won is None
    closed = [r for r in later[0].records if r.id == "006000000007001AAA"]
    assert isinstance(closed[0], OpportunityRecord) and closed[0].is_closed and closed[0].stage == "Closed Lost"
    assert closed[0].account_id == account_id(1000) and closed[0].amount == 5000.0
    assert closed[0].is_won is False


def test_owners_carry_active_flag_and_manager_when_read() -> None:
    state = make_state(0, owners=3)
    with running(state) as server:
        owners = {r.id: r for p in drain(connector_for(server), ObjectKind.OWNERS) for r in p.records}
    assert set(owners) == {owner_id(1), owner_id(2), owner_id(3)}
    third = owners[owner_id(3)]
    assert isinstance(third, OwnerRecord)
    assert (third.name, third.email, third.is_active, third.manager_id) == ("Rep3 Last3", "rep3@example.de", False, owner_id(1))


def test_record_is_stored_with_the_field_empty_and_a_warning_when_a_number_field_holds_text() -> None:
    state = make_state(5)
    state.accounts[1002].malformed = True
    with running(state) as server:
        pages = drain(connector_for(server), ObjectKind.ACCOUNTS)
    assert len(ids(pages)) == 5
    stored = next(r for p in pages for r in p.records if r.id == account_id(1002))
    assert isinstance(stored, AccountRecord) and stored.employees is None and stored.name
    skipped = pages[0].skipped
    assert [(s.record_id, s.kind, s.stored) for s in skipped] == [(account_id(1002), ObjectKind.ACCOUNTS, True)]
    assert "NumberOfEmployees" in skipped[0].problem and "n/a" in skipped[0].problem
    assert pages[-1].cursor.modified_at == state.accounts[1004].modified_at


def test_full_read_ignores_the_cursor_when_full_is_requested() -> None:
    state = make_state(30)
    with running(state) as server:
        conn = connector_for(server)
        cursor = ChangeCursor(modified_at=T0 + timedelta(hours=29), seen_ids=frozenset({account_id(1029)}))
        assert len(ids(drain(conn, ObjectKind.ACCOUNTS, cursor, full=True))) == 30


def test_first_read_reports_recycle_bin_rows_as_deleted_when_accounts_were_deleted() -> None:
    state = make_state(3)
    state.delete(state.accounts[1001])
    with running(state) as server:
        records = {r.id: r for p in drain(connector_for(server), ObjectKind.ACCOUNTS) for r in p.records}
    assert [records[account_id(n)].is_deleted for n in (1000, 1001, 1002)] == [False, True, False]


def test_reader_maps_the_visit_mode_field_when_one_is_configured() -> None:
    state = make_state(3)
    with running(state) as server:
        sf = raw_client(server)
        sf.restful("tooling/sobjects/CustomField", method="POST", json={
            "FullName": "Account.Visit_Mode__c", "Metadata": {"type": "Text", "label": "Visit mode", "length": 20}})
        sf.Account.update(account_id(1001), {"Visit_Mode__c": "Remote"})
        plain = connector_for(server)
        configured = connector_for(server)
        configured.visit_mode_field = "Visit_Mode__c"
        modes = {r.id: r.visit_mode for page in drain(configured, ObjectKind.ACCOUNTS) for r in page.records}
        unread = {r.visit_mode for page in drain(plain, ObjectKind.ACCOUNTS) for r in page.records}
    assert modes == {account_id(1000): None, account_id(1001): "Remote", account_id(1002): None}
    assert unread == {None}  # without the setting the field is not even asked for
