"""Who may decide a reassignment proposal (pure: ids in, a verdict with its reason out).

A decision made in the CRM counts only when it comes from an authorized approver: the
manager of the losing or of the gaining rep (the CRM's manager field, overridden or completed
by ``approvers.managers`` in the rules file), or a user named in ``approvers.users``. On top:

- a rep never approves a move to themselves, whatever else they are;
- the agent's own edits (it writes statuses too) are never decisions;
- an inactive user's decision does not count;
- a decision without a known author (an API write, an import) does not count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from territory.rules.schema import Approvers

APPROVE = "Approved"
REJECT = "Rejected"
DECISION_VALUES = (APPROVE, REJECT)


@dataclass(frozen=True)
class ApprovalContext:
    """What authorization needs to know about people.

    Attributes:
        managers: rep id -> manager id (CRM's managers merged with the rules file's).
        named: user ids that may decide any proposal.
        agent_ids: user ids the agent writes as (its edits never count).
        inactive: user ids that are deactivated.
        names: user id -> display name, for reasons people read.
    """

    managers: Mapping[str, str] = field(default_factory=dict)
    named: frozenset[str] = frozenset()
    agent_ids: frozenset[str] = frozenset()
    inactive: frozenset[str] = frozenset()
    names: Mapping[str, str] = field(default_factory=dict)

    def name(self, user_id: str | None) -> str:
        """Display name of ``user_id`` (the id itself when unknown, 'nobody' for None)."""
        if not user_id:
            return "nobody"
        return self.names.get(user_id, user_id)


@dataclass(frozen=True)
class Verdict:
    """Whether a decision counts, and why (in words a manager reads)."""

    counts: bool
    reason: str
    is_agent: bool = False


def build_approval_context(
    crm_managers: Mapping[str, str | None],
    approvers: Approvers,
    *,
    agent_ids: Iterable[str] = (),
    inactive: Iterable[str] = (),
    names: Mapping[str, str] | None = None,
) -> ApprovalContext:
    """Merge the CRM's manager field with the rules file's ``approvers`` section."""
    managers = {rep: manager for rep, manager in crm_managers.items() if manager}
    managers.update(approvers.managers)
    return ApprovalContext(
        managers=managers,
        named=frozenset(approvers.users),
        agent_ids=frozenset(agent_ids),
        inactive=frozenset(inactive),
        names=dict(names or {}),
    )


def authorize(
    actor_id: str | None,
    value: str,
    from_owner_id: str | None,
    to_owner_id: str | None,
    context: ApprovalContext,
) -> Verdict:
    """Does ``actor_id`` setting the status to ``value`` count as a decision on the move?"""
    if actor_id and actor_id in context.agent_ids:
        return Verdict(False, "territory-agent's own edit, not a decision", is_agent=True)
    if not actor_id:
        return Verdict(False, "the CRM does not say which user made this change (API or import write)")
    who = context.name(actor_id)
    if value not in DECISION_VALUES:
        return Verdict(False, f"{who} set the status to {value}; only Approved or Rejected are decisions")
    if actor_id in context.inactive:
        return Verdict(False, f"{who} is a deactivated user")
    if value == APPROVE and actor_id == to_owner_id:
        return Verdict(False, f"{who} would gain this account: a rep cannot approve a move to themselves")
    for rep, role in ((from_owner_id, "losing"), (to_owner_id, "gaining")):
        if rep and context.managers.get(rep) == actor_id:
            return Verdict(True, f"{who} manages the {role} rep {context.name(rep)}")
    if actor_id in context.named:
        return Verdict(True, f"{who} is a named approver in the rules file")
    return Verdict(
        False,
        f"{who} is neither the manager of {context.name(from_owner_id)} or of "
        f"{context.name(to_owner_id)} nor a named approver",
    )


def approving_manager(
    from_owner_id: str | None, to_owner_id: str | None, context: ApprovalContext
) -> str | None:
    """Whom to ask first: the losing rep's manager, else the gaining rep's, else the first
    named approver (active ones only, and never the gaining rep)."""
    candidates = [context.managers.get(rep) for rep in (from_owner_id, to_owner_id) if rep]
    candidates += sorted(context.named)
    for candidate in candidates:
        if candidate and candidate not in context.inactive and candidate != to_owner_id:
            return candidate
    return None
