"""Read the synced book of business out of the store in the vocabulary of ``rules``.

The rules engine is pure; this module is the one place that turns stored rows into its
inputs, so ``territory check``, ``territory explain`` and the inbound detection after every
sync all judge the same data the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from territory import rules
from territory.sync.store import Store


@dataclass(frozen=True)
class Book:
    """Everything the rules need about one CRM's data."""

    crm: str
    accounts: list[rules.Account]
    reps: list[rules.Rep]
    opportunities: list[rules.Opportunity]
    managers: dict[str, str | None]

    def account_ids(self) -> set[str]:
        """Ids of every (non-deleted) account in the book."""
        return {account.id for account in self.accounts}


def load_reps(store: Store, crm: str) -> tuple[list[rules.Rep], dict[str, str | None]]:
    """The synced owners of ``crm`` as reps, and each one's manager."""
    reps: list[rules.Rep] = []
    managers: dict[str, str | None] = {}
    for row in store.iter_records("owners", crm=crm):
        reps.append(rules.Rep(id=row["id"], name=row["name"], active=bool(row["is_active"])))
        managers[row["id"]] = row["manager_id"]
    return reps, managers


def load_book(store: Store, crm: str) -> Book:
    """The non-deleted owners, accounts and open opportunities of ``crm``."""
    reps, managers = load_reps(store, crm)
    accounts = [
        rules.Account(
            id=row["id"],
            name=row["name"],
            owner_id=row["owner_id"],
            country=row["country"],
            postal_code=row["postal_code"],
            industry=row["industry"],
            employees=row["employees"],
            annual_revenue=row["annual_revenue"],
            domain=row["domain"],
        )
        for row in store.iter_records("accounts", crm=crm)
    ]
    opportunities = [
        rules.Opportunity(
            id=row["id"],
            account_id=row["account_id"],
            owner_id=row["owner_id"],
            amount=row["amount"],
            stage=row["stage"],
            is_closed=bool(row["is_closed"]),
        )
        for row in store.iter_records("opportunities", crm=crm)
        if row["account_id"] and not row["is_closed"]
    ]
    return Book(crm, accounts, reps, opportunities, managers)


def read_visit_modes(connector: Any, rules_path: Path) -> None:
    """Have ``connector`` read each account's visit mode from the CRM field the rules file
    names (``coverage.visit_mode_field``); nothing without a readable rules file (the
    inbound check reports a broken one)."""
    if not rules_path.exists():
        return
    try:
        field_name = rules.load_rules(rules_path).coverage.visit_mode_field
    except (rules.RulesFileError, OSError):
        return
    connector.visit_mode_field = field_name
