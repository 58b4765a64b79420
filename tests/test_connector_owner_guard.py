"""The owner-change guard shared by both connectors."""

from __future__ import annotations

from territory.connector.owner_guard import precheck_owner_change
from territory.connector.records import OwnerChange

KW = {"crm_label": "TestCRM", "missing_code": "NOT_FOUND", "missing_message": "gone"}


def test_guard_decides_without_writing_when_gone_applied_or_changed_underneath() -> None:
    owners = {"A": "R1", "B": "R2", "C": "R3"}
    gone = precheck_owner_change(OwnerChange("X", "R9"), owners, **KW)
    applied = precheck_owner_change(OwnerChange("A", "R1", expected_owner_id="R0"), owners, **KW)
    changed = precheck_owner_change(OwnerChange("B", "R9", expected_owner_id="R1"), owners, **KW)
    assert gone is not None and (gone.ok, gone.error_code, gone.message) == (False, "NOT_FOUND", "gone")
    assert applied is not None and applied.ok
    assert changed is not None and changed.error_code == "OWNER_CHANGED" and "TestCRM" in (changed.message or "")


def test_guard_lets_the_write_through_when_owner_is_as_expected_or_unguarded() -> None:
    owners = {"A": "R1"}
    assert precheck_owner_change(OwnerChange("A", "R2", expected_owner_id="R1"), owners, **KW) is None
    assert precheck_owner_change(OwnerChange("A", "R2"), owners, **KW) is None


def test_auto_assign_guard_writes_only_while_the_account_has_no_owner() -> None:
    owners = {"A": None, "B": "R7", "C": "R2"}
    assert precheck_owner_change(OwnerChange("A", "R2", expect_unowned=True), owners, **KW) is None
    taken = precheck_owner_change(OwnerChange("B", "R2", expect_unowned=True), owners, **KW)
    assert taken is not None and not taken.ok and taken.error_code == "OWNER_SET" and "R7" in (taken.message or "")
    done = precheck_owner_change(OwnerChange("C", "R2", expect_unowned=True), owners, **KW)
    assert done is not None and done.ok  # already assigned by an earlier run: idempotent
