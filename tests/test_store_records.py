"""Store on SQLite and a real PostgreSQL: migrations, newer-wins upsert, cursors, exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from territory.connector.records import AccountRecord, ChangeCursor, OwnerRecord
from territory.sync import Store, head_revision, open_store, schema_revision
from territory.sync.export import EXPORT_COLUMNS, iter_export_rows, write_csv, write_json
from territory.sync.upsert import CHUNK_SIZE

T = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def account(rid: str, at: datetime, **kw: object) -> AccountRecord:
    fields: dict = {"name": f"Firma {rid}", "owner_id": "U1", **kw}
    return AccountRecord(id=rid, modified_at=at, **fields)


def upsert(store: Store, records: list, kind: str = "accounts", crm: str = "salesforce"):
    with store.transaction() as conn:
        return store.upsert(conn, crm, kind, records, synced_at=datetime.now(UTC))


def stored(store: Store, rid: str) -> dict:
    rows = [r for r in store.iter_records("accounts", include_deleted=True) if r["id"] == rid]
    assert len(rows) == 1
    return rows[0]


@pytest.fixture
def store(db_url: str):
    opened = open_store(db_url)
    yield opened
    opened.close()


def test_open_store_migrates_to_head_when_database_is_empty(db_url: str) -> None:
    store = open_store(db_url)
    assert schema_revision(store.engine) == head_revision() == "0009_report"
    assert open_store(db_url).count_records("accounts") == 0  # reopening is a no-op
    store.close()


def test_tables_match_migration_when_migrated(store: Store) -> None:
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diffs == []


def test_upsert_inserts_then_counts_replay_as_unchanged_when_same_page_applied_twice(
    store: Store,
) -> None:
    page = [account("A1", T), account("A2", T + timedelta(seconds=1))]
    first = upsert(store, page)
    again = upsert(store, page)
    assert sorted(first.inserted) == ["A1", "A2"]
    assert (again.inserted, again.updated, again.unchanged) == ([], [], 2)
    assert store.count_records("accounts") == 2


def test_older_copy_is_ignored_when_store_has_newer(store: Store) -> None:
    upsert(store, [account("A1", T, name="new name")])
    outcome = upsert(store, [account("A1", T - timedelta(minutes=5), name="stale name")])
    assert outcome.unchanged == 1
    assert stored(store, "A1")["name"] == "new name"


def test_newer_copy_overwrites_and_reports_owner_change_when_owner_differs(store: Store) -> None:
    upsert(store, [account("A1", T, owner_id="U1")])
    outcome = upsert(store, [account("A1", T + timedelta(microseconds=1), owner_id="U2")])
    assert outcome.updated == ["A1"]
    assert outcome.owner_changes == [("A1", "U1", "U2")]
    assert stored(store, "A1")["owner_id"] == "U2"


def test_delete_wins_a_tie_and_keeps_its_values_when_record_deleted(store: Store) -> None:
    upsert(store, [account("A1", T, city="Köln")])
    outcome = upsert(store, [account("A1", T, city="Bonn", is_deleted=True)])
    row = stored(store, "A1")
    assert outcome.deleted == ["A1"]
    assert (row["is_deleted"], row["city"]) == (True, "Bonn")
    assert upsert(store, [account("A1", T, city="Köln")]).unchanged == 1  # live copy loses the tie
    assert stored(store, "A1")["is_deleted"] is True
    assert store.count_records("accounts") == 0
    assert store.count_records("accounts", include_deleted=True) == 1


def test_older_live_copy_cannot_resurrect_when_tombstone_is_newer(store: Store) -> None:
    upsert(store, [account("A1", T + timedelta(seconds=5), is_deleted=True)])
    assert upsert(store, [account("A1", T)]).unchanged == 1
    assert stored(store, "A1")["is_deleted"] is True
    undelete = upsert(store, [account("A1", T + timedelta(seconds=6))])
    assert undelete.updated == ["A1"] and stored(store, "A1")["is_deleted"] is False


def test_newest_copy_wins_when_batch_holds_same_id_twice(store: Store) -> None:
    batch = [account("A1", T + timedelta(seconds=2), name="newest"), account("A1", T, name="old")]
    outcome = upsert(store, batch)
    assert outcome.inserted == ["A1"]
    assert stored(store, "A1")["name"] == "newest"


def test_upsert_writes_every_row_when_batch_spans_several_chunks(store: Store) -> None:
    records = [account(f"A{n:05d}", T + timedelta(milliseconds=n)) for n in range(CHUNK_SIZE * 2 + 7)]
    assert len(upsert(store, records).inserted) == len(records)
    changed = [account(r.id, r.modified_at + timedelta(days=1), owner_id="U9") for r in records[::3]]
    outcome = upsert(store, changed)
    assert len(outcome.updated) == len(changed) and outcome.unchanged == 0
    assert store.count_records("accounts") == len(records)


def test_same_id_in_two_crms_is_two_rows_when_store_is_shared(store: Store) -> None:
    upsert(store, [account("1", T)], crm="salesforce")
    upsert(store, [account("1", T)], crm="hubspot")
    assert store.count_records("accounts") == 2
    assert store.count_records("accounts", crm="hubspot") == 1


def test_timestamps_round_trip_as_utc_when_given_other_offsets(store: Store) -> None:
    berlin = timezone(timedelta(hours=1))
    upsert(store, [account("A1", datetime(2024, 3, 1, 13, 0, 0, 123456, tzinfo=berlin))])
    assert stored(store, "A1")["modified_at"] == datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    # the same instant in another offset is not newer
    assert upsert(store, [account("A1", datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC))]).unchanged == 1


def test_naive_timestamps_are_read_as_utc_when_a_connector_forgets_the_zone(store: Store) -> None:
    upsert(store, [account("A1", T)])
    naive_newer = (T + timedelta(seconds=1)).replace(tzinfo=None)
    assert upsert(store, [account("A1", naive_newer, name="newer")]).updated == ["A1"]
    assert stored(store, "A1")["modified_at"] == T + timedelta(seconds=1)


def test_cursor_round_trips_when_written_in_a_transaction(store: Store) -> None:
    assert store.get_cursor("hubspot", "accounts") is None
    cursor = ChangeCursor(modified_at=T, seen_ids=frozenset({"9", "10"}), token="abc", phase="initial")
    with store.transaction() as conn:
        store.put_cursor(conn, "hubspot", "accounts", cursor)
    assert store.get_cursor("hubspot", "accounts") == cursor
    with store.transaction() as conn:
        store.put_cursor(conn, "hubspot", "accounts", ChangeCursor(modified_at=T + timedelta(1)))
    assert store.get_cursor("hubspot", "accounts") == ChangeCursor(modified_at=T + timedelta(1))


def test_cursor_and_rows_roll_back_together_when_transaction_fails(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.upsert(conn, "salesforce", "accounts", [account("A1", T)], synced_at=T)
        store.put_cursor(conn, "salesforce", "accounts", ChangeCursor(modified_at=T))
        raise RuntimeError("killed between upsert and commit")
    assert store.get_cursor("salesforce", "accounts") is None
    assert store.count_records("accounts", include_deleted=True) == 0


def test_export_writes_stable_columns_sorted_by_id_without_deleted_when_exported(
    store: Store,
) -> None:
    upsert(store, [account("B", T, lat=52.52, employees=12), account("A", T), account("C", T, is_deleted=True)])
    upsert(store, [OwnerRecord(id="U1", name="Rep", email=None, is_active=True, modified_at=T,
                               teams=("DACH", "Enterprise"))], kind="owners")
    out = io.StringIO()
    assert write_csv(iter_export_rows(store, "accounts"), EXPORT_COLUMNS["accounts"], out) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(EXPORT_COLUMNS["accounts"])
    assert [r[0] for r in rows[1:]] == ["A", "B"]
    b = dict(zip(rows[0], rows[2]))
    assert (b["lat"], b["employees"], b["country"], b["modified_at"]) == ("52.52", "12", "", T.isoformat())
    out = io.StringIO()
    write_json(iter_export_rows(store, "owners"), out)
    assert json.loads(out.getvalue()) == [{
        "id": "U1", "name": "Rep", "email": None, "is_active": True, "manager_id": None,
        "teams": ["DACH", "Enterprise"], "modified_at": T.isoformat(), "crm": "salesforce",
    }]


def test_records_come_in_byte_order_of_id_when_ids_mix_case_and_digits(store: Store) -> None:
    ids = ["b", "B", "a-1", "a_1", "10", "9", "A"]
    upsert(store, [account(i, T) for i in ids])
    assert [r["id"] for r in store.iter_records("accounts")] == sorted(ids)


def test_store_rejects_unknown_backend_when_url_is_not_sqlite_or_postgres() -> None:
    with pytest.raises((ValueError, sa.exc.ArgumentError)):
        open_store("mysql://user@localhost/db")
