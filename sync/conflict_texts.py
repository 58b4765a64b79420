"""What a conflict says to people: the task's subject and body, who gets it, the preview row.

People and accounts are named by name, their CRM ids following in brackets; the internal key
is not part of the text (the connectors put it in the body as a marker).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from territory import rules
from territory.sync.book import Book

TITLES = {
    rules.Status.INACTIVE_OWNER: "Owner is inactive",
    rules.Status.DUPLICATE: "Duplicate account with a different owner",
    rules.Status.PARTNER_CONFLICT: "Partner/channel conflict",
    rules.Status.MISMATCH: "Owner differs from the territory rules",
    rules.Status.UNASSIGNED: "Account has no owner and no territory",
}


@dataclass(frozen=True)
class BookNames:
    """Names of the book's reps and accounts, and who manages whom."""

    reps: dict[str, str]
    accounts: dict[str, str]
    active: frozenset[str]
    managers: dict[str, str | None]

    @classmethod
    def of(cls, book: Book) -> BookNames:
        return cls(
            reps={rep.id: rep.name for rep in book.reps},
            accounts={account.id: account.name for account in book.accounts},
            active=frozenset(rep.id for rep in book.reps if rep.active),
            managers=dict(book.managers),
        )

    def rep(self, rep_id: str | None) -> str:
        """``Jonas Böhm [005...]``; ``nobody`` for None; the bare id when the name is unknown."""
        if not rep_id:
            return "nobody"
        name = self.reps.get(rep_id)
        return f"{name} [{rep_id}]" if name else rep_id

    def account(self, account_id: str) -> str:
        name = self.accounts.get(account_id)
        return f"{name} [{account_id}]" if name else account_id

    def assignee(self, decision: rules.Decision) -> str | None:
        """The owner's manager, else the owner, else the expected owner (active ones only)."""
        owner = decision.current_owner_id
        for candidate in (self.managers.get(owner) if owner else None, owner, decision.expected_owner_id):
            if candidate and candidate in self.active:
                return candidate
        return None


def task_subject(names: BookNames, decision: rules.Decision) -> str:
    """``Territory conflict: Owner is inactive: Müller GmbH``."""
    title = TITLES.get(decision.status, decision.status.value)
    account = names.accounts.get(decision.account_id) or decision.account_id
    return f"Territory conflict: {title}: {account}"


def task_body(names: BookNames, decision: rules.Decision) -> str:
    """Account, people and the deciding rule, in words."""
    return (
        f"Account: {names.account(decision.account_id)}\n"
        f"Current owner: {names.rep(decision.current_owner_id)}; "
        f"expected owner: {names.rep(decision.expected_owner_id)}.\n"
        f"Why: {decision.reason}\n"
        f"Rule: {decision.deciding_rule or 'none'}\n"
        "Flagged automatically by territory-agent; it is closed when the conflict is resolved."
    )


def flag_row(names: BookNames, decision: rules.Decision, key: str, already_flagged: bool) -> dict[str, Any]:
    """One conflict as ``check`` lists it (``--json`` ``flags``, ``--format csv`` rows)."""
    assignee = names.assignee(decision)
    return {
        "account_id": decision.account_id,
        "account_name": names.accounts.get(decision.account_id, ""),
        "status": decision.status.value,
        "current_owner_id": decision.current_owner_id,
        "current_owner_name": names.reps.get(decision.current_owner_id or "", ""),
        "expected_owner_id": decision.expected_owner_id,
        "expected_owner_name": names.reps.get(decision.expected_owner_id or "", ""),
        "assignee_id": assignee,
        "assignee_name": names.reps.get(assignee or "", ""),
        "already_flagged": already_flagged,
        "rule": decision.deciding_rule,
        "reason": decision.reason,
        "key": key,
    }
