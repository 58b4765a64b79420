"""Write-back: guarded owner changes, Tasks with our key marker, doctor checks, usage."""

from __future__ import annotations

from territory.connector.records import ActivityRequest, OwnerChange
from territory.emulator.server import FaultPlan
from tests.salesforce_support import account_id, connector_for, make_state, owner_id, running


def test_owner_changes_report_per_record_results_in_input_order() -> None:
    state = make_state(4, owners=3)  # owner 3 is inactive; accounts alternate owners 1 and 2
    with running(state) as server:
        conn = connector_for(server)
        before = state.accounts[1000].modified_at
        results = conn.apply_owner_changes([
            OwnerChange(account_id(1000), owner_id(2), expected_owner_id=owner_id(1)),
            OwnerChange(account_id(1001), owner_id(1), expected_owner_id=owner_id(1)),  # it is owner 2's now
            OwnerChange(account_id(1002), owner_id(3), expected_owner_id=owner_id(1)),  # inactive new owner
            OwnerChange("001000000999999AAA", owner_id(2)),
        ])
    assert [(r.record_id, r.ok, r.error_code) for r in results] == [
        (account_id(1000), True, None),
        (account_id(1001), False, "OWNER_CHANGED"),
        (account_id(1002), False, "INACTIVE_OWNER_OR_USER"),
        ("001000000999999AAA", False, "ENTITY_IS_DELETED"),
    ]
    assert state.accounts[1000].owner_n == 2 and state.accounts[1000].modified_at > before
    assert state.accounts[1001].owner_n == 2 and state.accounts[1002].owner_n == 1
    assert conn.api_calls == 2  # one guard read, one collection PATCH


def test_reapplying_an_owner_change_is_a_no_op_when_it_already_happened() -> None:
    state = make_state(1)
    with running(state) as server:
        conn = connector_for(server)
        change = OwnerChange(account_id(1000), owner_id(2), expected_owner_id=owner_id(1))
        assert conn.apply_owner_changes([change])[0].ok
        stamp = state.accounts[1000].modified_at
        assert conn.apply_owner_changes([change])[0].ok
    assert state.accounts[1000].modified_at == stamp


def test_owner_changes_are_chunked_by_200_when_many() -> None:
    state = make_state(450)
    with running(state) as server:
        conn = connector_for(server)
        changes = [OwnerChange(account_id(n), owner_id(2)) for n in state.accounts if state.accounts[n].owner_n == 1]
        results = conn.apply_owner_changes(changes)
    assert len(results) == 225 and all(r.ok for r in results)
    assert [r.record_id for r in results] == [c.account_id for c in changes]
    assert conn.api_calls == 4  # 2 guard reads + 2 PATCHes
    assert all(a.owner_n == 2 for a in state.accounts.values())


def test_activities_are_created_and_read_back_by_key() -> None:
    state = make_state(2)
    with running(state) as server:
        conn = connector_for(server)
        created = conn.apply_activities([
            ActivityRequest(account_id(1000), "Territory change approved", "moved to Rep2", external_key="move-1",
                            owner_id=owner_id(2), completed=True),
            ActivityRequest(account_id(1001), "Conflict: owner changed", "please review", external_key="flag-2"),
            ActivityRequest("001000000999999AAA", "Nowhere", "x", external_key="bad-3"),
        ])
        found = {a.external_key: a for a in conn.fetch_activities([account_id(1000), account_id(1001)])}
        flag_id = found["flag-2"].id
        completed = conn.complete_activities([flag_id])
        after = {a.external_key: a for a in conn.fetch_activities([account_id(1001)])}
    assert [r.ok for r in created] == [True, True, False]
    assert created[2].error_code == "INVALID_CROSS_REFERENCE_KEY"
    assert created[0].created_id == found["move-1"].id
    assert found["move-1"].subject == "Territory change approved" and found["move-1"].completed
    assert found["flag-2"].account_id == account_id(1001) and not found["flag-2"].completed
    assert completed[0].ok and after["flag-2"].completed


def test_task_creation_is_not_duplicated_when_the_post_is_retried() -> None:
    state = make_state(1)
    with running(state, faults=FaultPlan(script=["drop_connection"])) as server:
        conn = connector_for(server)
        results = conn.apply_activities([ActivityRequest(account_id(1000), "Audit", "x", external_key="k1")])
        found = conn.fetch_activities([account_id(1000)])
    assert results[0].ok
    assert [a.external_key for a in found] == ["k1"]


def test_doctor_checks_pass_when_the_integration_user_has_access() -> None:
    with running(make_state(1)) as server:
        checks = connector_for(server).check_access()
    assert [name for name, _, _ in checks] == [
        "query User", "query Account", "query Opportunity", "update Account.OwnerId", "create Task", "API usage left",
    ]
    assert all(passed for _, passed, _ in checks), checks


def test_doctor_names_what_to_fix_when_accounts_are_read_only() -> None:
    with running(make_state(1), read_only_objects={"Account"}) as server:
        checks = {name: (passed, detail) for name, passed, detail in connector_for(server).check_access()}
    assert checks["query Account"][0] is True
    assert checks["update Account.OwnerId"][0] is False
    assert "Edit on Account" in checks["update Account.OwnerId"][1]


def test_usage_comes_from_the_limit_header_or_the_limits_resource() -> None:
    state = make_state(1)
    with running(state) as server:
        conn = connector_for(server)
        first = conn.fetch_usage()  # nothing called yet: costs one limits/ call
        second = conn.fetch_usage()  # now known from Sforce-Limit-Info
    assert first.limit == 5_000_000 and first.used == 1
    assert second.used == 1 and conn.api_calls == 1 and second.calls_this_run == 1


def test_a_second_change_for_the_same_account_in_one_batch_is_rejected() -> None:
    state = make_state(1)
    with running(state) as server:
        results = connector_for(server).apply_owner_changes([
            OwnerChange(account_id(1000), owner_id(2)), OwnerChange(account_id(1000), owner_id(1)),
        ])
    assert [(r.ok, r.error_code) for r in results] == [(True, None), (False, "DUPLICATE_VALUE")]
    assert state.accounts[1000].owner_n == 2


def test_a_locked_row_is_reported_as_retriable_and_succeeds_when_reapplied() -> None:
    state = make_state(2)
    with running(state, locked_ids={account_id(1000)}) as server:
        conn = connector_for(server)
        changes = [OwnerChange(account_id(1000), owner_id(2), expected_owner_id=owner_id(1)),
                   OwnerChange(account_id(1001), owner_id(1), expected_owner_id=owner_id(2))]
        first = conn.apply_owner_changes(changes)
        second = conn.apply_owner_changes([changes[0]])
    assert [(r.ok, r.error_code, r.retriable) for r in first] == [(False, "UNABLE_TO_LOCK_ROW", True), (True, None, False)]
    assert second[0].ok and state.accounts[1000].owner_n == 2
