"""Append-only ownership history, outbox, lease and scenarios on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from territory.sync import (
    AppendOnlyViolation,
    HistoryEntry,
    MoveInput,
    ScenarioExistsError,
    Store,
    open_store,
)
from territory.sync.tables import OwnershipHistoryRow

T = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str):
    opened = open_store(db_url)
    yield opened
    opened.close()


def entry(account_id: str = "A1", new: str = "U2") -> HistoryEntry:
    return HistoryEntry(
        crm="salesforce", account_id=account_id, old_owner_id="U1", new_owner_id=new,
        reason="territory rebalance", rule="postal:10", approver="mgr@example.com",
        source="agent", decided_at=T, crm_result="ok",
    )


def test_history_lists_entries_in_order_when_appended(store: Store) -> None:
    store.history.append([entry("A1", "U2"), entry("A2", "U3")])
    store.history.append([entry("A1", "U4")])
    listed = store.history.list(account_id="A1")
    assert [(e.new_owner_id, e.decided_at, e.rule) for e in listed] == [
        ("U2", T, "postal:10"), ("U4", T, "postal:10")]
    assert len(store.history.list()) == 3


def test_orm_refuses_update_when_history_row_is_modified(store: Store) -> None:
    store.history.append([entry()])
    with Session(store.engine) as session:
        row = session.exec(select(OwnershipHistoryRow)).one()
        row.new_owner_id = "U666"
        session.add(row)
        with pytest.raises(AppendOnlyViolation):
            session.commit()
    assert store.history.list()[0].new_owner_id == "U2"


def test_orm_refuses_delete_when_history_row_is_deleted(store: Store) -> None:
    store.history.append([entry()])
    with Session(store.engine) as session:
        session.delete(session.exec(select(OwnershipHistoryRow)).one())
        with pytest.raises(AppendOnlyViolation):
            session.commit()
    assert len(store.history.list()) == 1


@pytest.mark.parametrize("sql", [
    "UPDATE ownership_history SET new_owner_id = 'U666'",
    "DELETE FROM ownership_history",
])
def test_database_refuses_raw_sql_when_history_is_rewritten(store: Store, sql: str) -> None:
    store.history.append([entry()])
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), store.engine.begin() as conn:
        conn.execute(sa.text(sql))
    assert [e.new_owner_id for e in store.history.list()] == ["U2"]


def test_history_append_joins_caller_transaction_when_connection_given(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.history.append([entry()], conn=conn)
        raise RuntimeError("rolled back")
    assert store.history.list() == []


def test_outbox_keeps_one_row_when_same_external_key_enqueued_twice(store: Store) -> None:
    first = store.outbox.enqueue("owner_change", {"account_id": "A1", "to": "U2"}, "move:A1:U2")
    second = store.outbox.enqueue("owner_change", {"account_id": "A1", "to": "U9"}, "move:A1:U2")
    assert first.id == second.id and second.payload == {"account_id": "A1", "to": "U2"}
    assert [r.external_key for r in store.outbox.pending()] == ["move:A1:U2"]


def test_outbox_tracks_attempts_when_send_fails_then_succeeds(store: Store) -> None:
    row = store.outbox.enqueue("activity", {"subject": "Moved"}, "note:A1")
    assert row.id is not None
    store.outbox.mark_failed(row.id, "429 rate limited")
    assert store.outbox.pending()[0].attempts == 1
    store.outbox.mark_sent(row.id, crm_id="00T000000000001AAA")
    sent = store.outbox.get("note:A1")
    assert sent is not None
    assert (sent.status, sent.attempts, sent.crm_id) == ("sent", 2, "00T000000000001AAA")
    assert sent.sent_at is not None and store.outbox.pending() == []


def test_outbox_stops_retrying_when_failure_is_final(store: Store) -> None:
    row = store.outbox.enqueue("activity", {}, "note:A2")
    assert row.id is not None
    store.outbox.mark_failed(row.id, "403 missing permission", final=True)
    assert store.outbox.pending() == []
    failed = store.outbox.get("note:A2")
    assert failed is not None and failed.status == "failed"


def test_lease_excludes_second_holder_until_it_expires(store: Store) -> None:
    assert store.leases.acquire("scheduler", "agent-a", 60, now=T)
    assert not store.leases.acquire("scheduler", "agent-b", 60, now=T + timedelta(seconds=30))
    assert store.leases.acquire("scheduler", "agent-a", 60, now=T + timedelta(seconds=30))  # renew
    assert not store.leases.acquire("scheduler", "agent-b", 60, now=T + timedelta(seconds=80))
    assert store.leases.acquire("scheduler", "agent-b", 60, now=T + timedelta(seconds=91))
    assert store.leases.current("scheduler") == ("agent-b", T + timedelta(seconds=151))


def test_lease_is_free_when_holder_releases_it(store: Store) -> None:
    assert store.leases.acquire("scheduler", "agent-a", 600, now=T)
    store.leases.release("scheduler", "agent-b")  # not the holder: no effect
    assert store.leases.current("scheduler") is not None
    store.leases.release("scheduler", "agent-a")
    assert store.leases.current("scheduler") is None
    assert store.leases.acquire("scheduler", "agent-b", 600, now=T)


def test_scenario_saves_moves_and_statuses_when_planned(store: Store) -> None:
    moves = [MoveInput("A1", "U1", "U2", "balance"), MoveInput("A2", None, "U3", "orphan")]
    scenario_id = store.scenarios.save("q3-balance", {"max_moves": 10}, {"gini": 0.12}, moves)
    with pytest.raises(ScenarioExistsError):
        store.scenarios.save("q3-balance", {}, {}, [])
    found = store.scenarios.get("q3-balance")
    assert found is not None
    scenario, rows = found
    assert scenario.id == scenario_id and scenario.metrics == {"gini": 0.12}
    assert [(m.account_id, m.status) for m in rows] == [("A1", "proposed"), ("A2", "proposed")]
    store.scenarios.set_move_status([rows[0].id], "approved")  # type: ignore[list-item]
    assert [m.status for m in store.scenarios.get("q3-balance")[1]] == ["approved", "proposed"]  # type: ignore[index]
    with pytest.raises(ValueError):
        store.scenarios.set_move_status([rows[0].id], "maybe")  # type: ignore[list-item]
    assert store.scenarios.names() == ["q3-balance"]
