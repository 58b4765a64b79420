"""HubSpot write-back: guarded owner changes, tasks/notes by key, completion, doctor checks."""

from __future__ import annotations

from territory.connector.records import ActivityRequest, OwnerChange
from territory.emulator.state import EmuActivity
from tests.hubspot_support import connector_for, hubspot_api, make_state, running


def test_owner_changes_apply_in_input_order_and_guard_when_owner_moved_on() -> None:
    state = make_state(4, owners=3)  # owners 1, 2 active; 3 deactivated; companies alternate 1/2
    with running(state) as server:
        conn = connector_for(server)
        results = conn.apply_owner_changes([
            OwnerChange("1000", new_owner_id="2", expected_owner_id="1"),  # applies
            OwnerChange("1001", new_owner_id="1", expected_owner_id="1"),  # owner is 2 now
            OwnerChange("1002", new_owner_id="3"),  # deactivated owner
            OwnerChange("1003", new_owner_id="99"),  # unknown owner
            OwnerChange("424242", new_owner_id="1"),  # no such company
        ])
    assert [r.record_id for r in results] == ["1000", "1001", "1002", "1003", "424242"]
    assert [r.ok for r in results] == [True, False, False, False, False]
    assert [r.error_code for r in results[1:]] == ["OWNER_CHANGED", "INACTIVE_OWNER", "UNKNOWN_OWNER", "NOT_FOUND"]
    assert state.accounts[1000].owner_n == 2 and state.accounts[1001].owner_n == 2
    assert state.accounts[1002].owner_n == 1


def test_owner_change_is_idempotent_when_reapplied() -> None:
    state = make_state(1)
    with running(state) as server:
        conn = connector_for(server)
        change = OwnerChange("1000", new_owner_id="2", expected_owner_id="1")
        first = conn.apply_owner_changes([change])
        stamp = state.accounts[1000].modified_at
        second = conn.apply_owner_changes([change])
    assert first[0].ok and second[0].ok
    assert state.accounts[1000].modified_at == stamp  # nothing written the second time


def test_owner_changes_are_batched_by_100_when_many() -> None:
    state = make_state(250, owners=2)
    with running(state) as server:
        conn = connector_for(server)
        results = conn.apply_owner_changes([OwnerChange(str(n), "2") for n in sorted(state.accounts)])
        log = [path for _, path in server.request_log]
    assert all(r.ok for r in results) and len(results) == 250
    assert log.count("/crm/v3/objects/companies/batch/read") == 3
    assert log.count("/crm/v3/objects/companies/batch/update") == 3
    assert all(a.owner_n == 2 for a in state.accounts.values())


def test_activities_are_created_on_companies_and_read_back_by_key() -> None:
    state = make_state(3)
    with running(state) as server:
        conn = connector_for(server)
        results = conn.apply_activities([
            ActivityRequest("1000", "Territory moved to Rep2", "Reason: rebalance", kind="note",
                            external_key="prop-1-note"),
            ActivityRequest("1001", "Check conflict", "Two reps claim it", kind="task", owner_id="1",
                            external_key="prop-2-task"),
            ActivityRequest("1000", "Plain task", "no key"),
        ])
        assert all(r.ok for r in results) and all(r.created_id for r in results)
        found = {a.external_key: a for a in conn.fetch_activities(["1000", "1001", "1002"])}
        completed = conn.complete_activities([results[1].created_id or "", "987654"])
        after = {a.id: a for a in conn.fetch_activities(["1001"])}
    assert found["prop-1-note"].kind == "note" and found["prop-1-note"].account_id == "1000"
    assert found["prop-1-note"].subject == "Territory moved to Rep2"
    assert found["prop-1-note"].body == "Reason: rebalance"
    task = found["prop-2-task"]
    assert (task.kind, task.account_id, task.subject, task.completed) == ("task", "1001", "Check conflict", False)
    assert found[None].subject == "Plain task"
    assert [r.ok for r in completed] == [True, False]
    assert completed[1].error_code == "OBJECT_NOT_FOUND"
    assert after[task.id].completed is True


def test_bad_activity_fails_alone_when_the_batch_is_rejected() -> None:
    state = make_state(2)
    with running(state) as server:
        conn = connector_for(server)
        results = conn.apply_activities([
            ActivityRequest("1000", "ok", "fine", external_key="a"),
            ActivityRequest("777777", "no company", "bad association", external_key="b"),
        ])
    assert results[0].ok and not results[1].ok
    assert results[1].error_code == "VALIDATION_ERROR"
    tasks = [a for a in state.activities.values() if isinstance(a, EmuActivity)]
    assert [t.account_n for t in tasks] == [1000]


def test_usage_and_access_checks_report_scopes_and_daily_calls_left() -> None:
    state = make_state(1)
    with running(state, scopes={"crm.objects.companies.read", "crm.objects.owners.read"}) as server:
        conn = connector_for(server)
        checks = {name: (ok, detail) for name, ok, detail in conn.check_access()}
        usage = conn.fetch_usage()
        calls = conn.api_calls
        hubspot_api(server).scopes.add("crm.objects.deals.read")
        assert {n for n, ok, _ in conn.check_access() if not ok} == {
            "scope companies write", "scope tasks/notes read", "scope tasks/notes write"}
    assert checks["hubspot token"][0] is True
    assert checks["scope companies read"][0] is True
    assert checks["scope deals read"] == (False, checks["scope deals read"][1])
    assert "crm.objects.deals.read" in checks["scope deals read"][1]
    assert checks["api usage"][0] is True and "daily calls left" in checks["api usage"][1]
    assert usage.limit == state.daily_limit and usage.used is not None and usage.used >= 1
    assert usage.calls_this_run == calls == 1  # token info carried the usage headers


def test_access_check_fails_token_when_revoked() -> None:
    with running(make_state(1), tokens={"other"}) as server:
        checks = connector_for(server, token="revoked").check_access()
    assert checks[0][0] == "hubspot token" and checks[0][1] is False
    assert "HUBSPOT_ACCESS_TOKEN" in checks[0][2]


def test_marker_is_parsed_from_tasks_and_html_reflowed_notes() -> None:
    from territory.connector.hubspot.mapping import to_activity

    task = {"id": "8", "properties": {"hs_task_subject": "Flag", "hs_task_body": "<p>why</p><p>[territory:k-1]</p>"}}
    assert (to_activity(task, "task", "1000").subject, to_activity(task, "task", "1000").external_key) == ("Flag", "k-1")
    older = {"id": "7", "properties": {"hs_task_subject": "Flag [territory:k-0]", "hs_task_body": "why"}}
    assert to_activity(older, "task", "1000").external_key == "k-0"
    note = {"id": "9", "properties": {"hs_note_body": "<p>Moved to Rep2 [territory:p-7]</p><p>why</p>"}}
    assert to_activity(note, "note", "1000").external_key == "p-7"
