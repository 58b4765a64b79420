"""The owner-change guard both connectors apply before writing (same rule for every CRM).

An owner change is decided without a write when the account is gone, when it already has
the new owner (re-applying is a no-op, so write-back is idempotent), or when its owner is no
longer the one the plan expected, or no longer empty where the change expects an unowned
account (someone changed it in the CRM: never overwrite that).
"""

from __future__ import annotations

from collections.abc import Mapping

from territory.connector.records import OwnerChange, WriteResult


def precheck_owner_change(
    change: OwnerChange,
    current_owners: Mapping[str, str | None],
    *,
    crm_label: str,
    missing_code: str,
    missing_message: str,
) -> WriteResult | None:
    """The result decided before writing, or None when the change must be written."""
    if change.account_id not in current_owners:
        return WriteResult(change.account_id, False, error_code=missing_code, message=missing_message)
    now = current_owners[change.account_id]
    if now == change.new_owner_id:
        return WriteResult(change.account_id, True)
    if change.expect_unowned and now:
        return WriteResult(
            change.account_id, False, error_code="OWNER_SET",
            message=f"the account got owner {now} in {crm_label} since the last sync; left as is",
        )
    if change.expected_owner_id is not None and now != change.expected_owner_id:
        return WriteResult(
            change.account_id, False, error_code="OWNER_CHANGED",
            message=f"owner is now {now}, expected {change.expected_owner_id}; "
            f"someone changed it in {crm_label}, re-plan this account",
        )
    return None
