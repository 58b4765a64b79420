"""Sync engine against the in-memory FakeConnector: paging, incremental, ties, crash/resume."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from territory.connector.errors import RetriableCrmError
from territory.connector.records import ChangeCursor, ObjectKind
from territory.sync import Store, open_store, run_sync
from territory.sync.cursor import advance_cursor
from territory.sync.tables import RECORD_TABLES
from tests.fake_crm import FakeConnector, FakeCrm, seed_crm

KINDS = [k.value for k in ObjectKind]


def snapshot(store: Store) -> dict[str, Any]:
    """Everything a sync decides: record rows (minus synced_at) and cursors."""
    state: dict[str, Any] = {}
    with store.engine.connect() as conn:
        for kind, model in RECORD_TABLES.items():
            table = model.__table__  # type: ignore[attr-defined]
            rows = conn.execute(sa.select(table).order_by(table.c.crm, table.c.id)).mappings()
            state[kind] = [{k: v for k, v in r.items() if k != "synced_at"} for r in rows]
    for kind in KINDS:
        state[f"cursor:{kind}"] = store.get_cursor("salesforce", kind)
    return state


def expected_accounts(crm: FakeCrm) -> dict[str, str]:
    return {i: r.name for i, r in crm.live(ObjectKind.ACCOUNTS).items()}


def stored_accounts(store: Store) -> dict[str, str]:
    return {r["id"]: r["name"] for r in store.iter_records("accounts")}


@pytest.fixture
def store(db_url: str):
    opened = open_store(db_url)
    yield opened
    opened.close()


def test_initial_sync_pages_to_exhaustion_when_store_is_empty(store: Store) -> None:
    crm = seed_crm(accounts=25, owners=3, opportunities=6)
    connector = FakeConnector(crm, page_size=4)
    summary = run_sync(connector, store)
    assert stored_accounts(store) == expected_accounts(crm)
    assert summary.kinds["accounts"].as_dict() == {
        "fetched": 25, "inserted": 25, "updated": 0, "deleted": 0, "unchanged": 0,
        "skipped": 0, "purged": 0, "pages": 7}
    assert (summary.total("fetched"), summary.api_calls, summary.status) == (34, 1 + 7 + 2, "ok")
    assert summary.changed_account_ids == set(expected_accounts(crm))
    last = max(r.modified_at for r in crm.records[ObjectKind.ACCOUNTS].values())
    assert store.get_cursor("salesforce", "accounts") == ChangeCursor(last, frozenset({"A0024"}))
    assert store.list_runs()[0]["status"] == "ok"


def test_incremental_reads_only_changes_when_records_edited_and_deleted(store: Store) -> None:
    crm = seed_crm()
    run_sync(FakeConnector(crm), store)
    crm.edit(ObjectKind.ACCOUNTS, "A0003", name="Umbenannt AG")
    crm.edit(ObjectKind.ACCOUNTS, "A0007", owner_id="U002")
    crm.delete(ObjectKind.ACCOUNTS, "A0010")
    crm.delete(ObjectKind.OPPORTUNITIES, "O0001")
    connector = FakeConnector(crm)
    summary = run_sync(connector, store)
    accounts = summary.kinds["accounts"]
    assert (accounts.fetched, accounts.updated, accounts.deleted, accounts.inserted) == (3, 2, 1, 0)
    assert summary.kinds["opportunities"].deleted == 1
    assert summary.changed_account_ids == {"A0003", "A0007"}
    assert summary.deleted_account_ids == {"A0010"}
    assert stored_accounts(store) == expected_accounts(crm)
    assert "A0010" not in stored_accounts(store)
    assert store.count_records("opportunities") == 5
    changes = [(e.account_id, e.old_owner_id, e.new_owner_id, e.source) for e in store.history.list()]
    assert changes == [("A0007", "U001", "U002", "crm_sync")]


def test_incremental_costs_one_call_per_kind_when_nothing_changed(store: Store) -> None:
    crm = seed_crm()
    run_sync(FakeConnector(crm), store)
    before = snapshot(store)
    connector = FakeConnector(crm)
    summary = run_sync(connector, store)
    assert (summary.total("fetched"), summary.api_calls) == (0, 3)
    assert snapshot(store) == before


def test_records_sharing_a_timestamp_are_stored_once_when_split_across_pages(store: Store) -> None:
    crm = seed_crm(accounts=2)
    tie = crm.tick()
    template = crm.records[ObjectKind.ACCOUNTS]["A0000"]
    for n in range(10):
        crm.put(ObjectKind.ACCOUNTS, replace(template, id=f"T{n:02d}", modified_at=tie))
    first = run_sync(FakeConnector(crm, page_size=3), store)
    assert first.kinds["accounts"].inserted == 12
    assert store.get_cursor("salesforce", "accounts") == ChangeCursor(
        tie, frozenset(f"T{n:02d}" for n in range(10)))
    # a record created in the very same millisecond after the sync must still arrive, once
    crm.put(ObjectKind.ACCOUNTS, replace(template, id="T99", modified_at=tie))
    second = run_sync(FakeConnector(crm, page_size=3), store)
    assert (second.kinds["accounts"].fetched, second.kinds["accounts"].inserted) == (1, 1)
    assert sorted(stored_accounts(store)) == sorted(expected_accounts(crm))
    third = run_sync(FakeConnector(crm, page_size=3), store)
    assert third.kinds["accounts"].fetched == 0


def test_resume_after_crash_equals_uninterrupted_run_when_connector_fails_mid_sync(
    db_url: str,
) -> None:
    crm = seed_crm(accounts=25, owners=3, opportunities=6)
    reference = open_store("sqlite://")
    run_sync(FakeConnector(crm, page_size=4), reference)
    total_pages = FakeConnector(crm, page_size=4)
    run_sync(total_pages, open_store("sqlite://"))
    assert total_pages.pages_served == len(PAGE_SIZES)
    for crash_after in range(total_pages.pages_served):
        store = open_store(db_url) if crash_after == 5 else open_store("sqlite://")
        with pytest.raises(RetriableCrmError):
            run_sync(FakeConnector(crm, page_size=4, fail_after_pages=crash_after), store)
        assert store.list_runs()[0]["status"] == "failed"
        resumed = FakeConnector(crm, page_size=4)
        summary = run_sync(resumed, store)
        assert snapshot(store) == snapshot(reference), f"crash after page {crash_after}"
        # no gap, no duplicate: the resume fetches exactly what was not committed
        assert summary.total("fetched") == 34 - sum(PAGE_SIZES[:crash_after])
        store.close()


PAGE_SIZES = [3, 4, 4, 4, 4, 4, 4, 1, 4, 2]  # owners 3; accounts 25 by 4; opportunities 6 by 4


def test_skipped_records_are_reported_when_connector_cannot_translate_them(store: Store) -> None:
    crm = seed_crm()
    summary = run_sync(FakeConnector(crm, malformed=["A0004", "A0005"]), store)
    assert summary.status == "partial" and summary.is_partial
    assert [(s.kind.value, s.record_id) for s in summary.skipped] == [
        ("accounts", "A0004"), ("accounts", "A0005")]
    assert summary.to_dict()["skipped"] == 2
    run = store.list_runs()[0]
    assert run["status"] == "partial"
    assert run["skipped"][0] == {"kind": "accounts", "record_id": "A0004", "problem": "malformed value (injected)",
                                 "version": crm.records[ObjectKind.ACCOUNTS]["A0004"].modified_at.isoformat(),
                                 "known": False}
    assert "A0004" not in stored_accounts(store) and len(stored_accounts(store)) == 23


def test_engine_stays_exact_when_connector_redelivers_every_page(store: Store) -> None:
    crm = seed_crm()
    summary = run_sync(FakeConnector(crm, redeliver=True), store)
    assert stored_accounts(store) == expected_accounts(crm)
    assert summary.kinds["accounts"].inserted == 25
    assert summary.kinds["accounts"].unchanged == 25


def test_full_sync_rereads_everything_when_requested(store: Store) -> None:
    crm = seed_crm()
    run_sync(FakeConnector(crm), store)
    connector = FakeConnector(crm)
    summary = run_sync(connector, store, full=True)
    assert all(cursor is None and full for _, cursor, full in connector.cursors_received)
    assert summary.kinds["accounts"].fetched == 25 and summary.kinds["accounts"].unchanged == 25
    assert summary.changed_account_ids == set()


def test_unreadable_record_is_reported_once_per_version_when_re_read(store: Store) -> None:
    crm = seed_crm()
    bad = sorted(crm.live(ObjectKind.ACCOUNTS))[4]
    first = run_sync(FakeConnector(crm, malformed=[bad]), store)
    assert [s.record_id for s in first.skipped] == [bad] and first.status == "partial"
    reread = run_sync(FakeConnector(crm, malformed=[bad]), store, full=True)  # same version again
    assert reread.skipped == [] and [s.record_id for s in reread.skipped_known] == [bad]
    assert reread.status == "ok" and reread.to_dict()["skipped_known_records"][0]["record_id"] == bad
    crm.edit(ObjectKind.ACCOUNTS, bad, name="still broken")  # a new version: report it again
    edited = run_sync(FakeConnector(crm, malformed=[bad]), store)
    assert [s.record_id for s in edited.skipped] == [bad] and edited.status == "partial"


def test_full_sync_marks_records_purged_from_the_crm_deleted_when_the_read_completes(store: Store) -> None:
    crm = seed_crm()
    run_sync(FakeConnector(crm), store)
    purged = sorted(crm.live(ObjectKind.ACCOUNTS))[:3]
    for account_id in purged:  # gone without a tombstone (emptied recycle bin, GDPR delete)
        del crm.records[ObjectKind.ACCOUNTS][account_id]
    incremental = run_sync(FakeConnector(crm), store)
    assert incremental.kinds["accounts"].deleted == 0 and set(purged) <= set(stored_accounts(store))
    malformed = sorted(crm.live(ObjectKind.ACCOUNTS))[0]  # unreadable, but still in the CRM
    summary = run_sync(FakeConnector(crm, malformed=[malformed]), store, full=True)
    assert summary.kinds["accounts"].purged == 3 and summary.kinds["accounts"].deleted == 3
    assert stored_accounts(store) == expected_accounts(crm)
    assert summary.deleted_account_ids == set(purged)
    again = run_sync(FakeConnector(crm), store, full=True)
    assert again.kinds["accounts"].purged == 0 and summary.kinds["owners"].purged == 0


def test_failed_full_sync_marks_nothing_deleted(store: Store) -> None:
    crm = seed_crm()
    run_sync(FakeConnector(crm), store)
    del crm.records[ObjectKind.ACCOUNTS][sorted(crm.live(ObjectKind.ACCOUNTS))[0]]
    with pytest.raises(RetriableCrmError):
        run_sync(FakeConnector(crm, page_size=5, fail_after_pages=2), store, full=True)
    assert len(stored_accounts(store)) == 25  # half a read proves nothing about the rest


def test_progress_is_reported_after_every_committed_page(store: Store) -> None:
    seen: list[tuple[str, int]] = []
    run_sync(FakeConnector(seed_crm(), page_size=10), store,
             progress=lambda kind, counts: seen.append((kind, counts.fetched)))
    assert seen == [("owners", 3), ("accounts", 10), ("accounts", 20), ("accounts", 25),
                    ("opportunities", 6)]


def test_committed_cursor_never_moves_back_when_an_old_page_is_offered() -> None:
    crm = seed_crm()
    newer = ChangeCursor(crm.now, frozenset({"A1"}))
    older = ChangeCursor(crm.now - timedelta(seconds=1), frozenset({"A0"}))
    assert advance_cursor(newer, older) == newer
    assert advance_cursor(older, newer) == newer
    same_time = ChangeCursor(crm.now, frozenset({"A2"}))
    assert advance_cursor(newer, same_time) == ChangeCursor(crm.now, frozenset({"A1", "A2"}))
    token = ChangeCursor(None, frozenset(), token="after:100", phase="initial")
    assert advance_cursor(newer, token) == token
    assert advance_cursor(None, older) == older


def test_scheduled_sync_skips_when_another_agent_holds_the_lease(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from territory.connector import factory
    from territory.sync.jobs import SYNC_LEASE, run_incremental_sync

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setenv("TERRITORY_DB_URL", url)
    monkeypatch.setenv("TERRITORY_CRM", "hubspot")
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-test")
    crm = seed_crm()
    monkeypatch.setattr(factory, "build_connector", lambda s: FakeConnector(crm, crm="hubspot"))
    store = open_store(url)
    assert store.leases.acquire(SYNC_LEASE, "other-agent", 600)
    assert run_incremental_sync(holder="me") is None
    assert store.count_records("accounts") == 0
    store.leases.release(SYNC_LEASE, "other-agent")
    summary = run_incremental_sync(holder="me")
    assert summary is not None and summary.total("inserted") == 34
    assert store.leases.current(SYNC_LEASE) is None  # released after the run



def test_summary_says_initial_then_incremental_when_cursors_get_committed(store: Store) -> None:
    connector = FakeConnector(seed_crm(accounts=5, owners=2, opportunities=1))
    first, second = run_sync(connector, store), run_sync(connector, store)
    assert (first.mode, second.mode) == ("initial", "incremental")
    assert run_sync(connector, store, full=True).to_dict()["mode"] == "full"


def test_unreadable_record_seen_only_by_a_failed_run_is_reported_by_the_next(store: Store) -> None:
    crm = seed_crm()
    bad = sorted(crm.live(ObjectKind.ACCOUNTS))[1]
    with pytest.raises(RetriableCrmError):  # the failed run never printed its list
        run_sync(FakeConnector(crm, page_size=5, fail_after_pages=2, malformed=[bad]), store)
    resumed = run_sync(FakeConnector(crm, malformed=[bad]), store, full=True)
    assert [s.record_id for s in resumed.skipped] == [bad] and resumed.status == "partial"
