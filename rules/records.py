"""Plain inputs and outputs of rule evaluation, and the status vocabulary.

Status precedence (first that applies wins; see docs/rules.md):

1. ``inactive_owner``   the current owner, or the owner the rules point to, is inactive
2. ``duplicate``        another account with the same website domain has a different owner
3. ``partner_conflict`` a channel rule is broken (partner-led not owned by a partner rep,
                        or direct-only carrying a partner / owned by a partner rep)
4. ``grandfathered``    would move, but the current owner has an open opportunity on it
5. ``mismatch``         the current owner differs from the expected owner
6. ``unassigned``       no rule applies and nobody owns the account
7. ``uncovered``        no rule applies; the current owner is kept but the gap is reported
8. ``named``            owned as a named-account entry says
9. ``overlap``          owned as expected; several territories matched, a tiebreaker decided
10. ``ok``              owned as expected by the one matching territory
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Status(str, Enum):
    """Outcome of evaluating one account. Declaration order is the precedence order."""

    INACTIVE_OWNER = "inactive_owner"
    DUPLICATE = "duplicate"
    PARTNER_CONFLICT = "partner_conflict"
    GRANDFATHERED = "grandfathered"
    MISMATCH = "mismatch"
    UNASSIGNED = "unassigned"
    UNCOVERED = "uncovered"
    NAMED = "named"
    OVERLAP = "overlap"
    OK = "ok"


STATUS_PRECEDENCE: tuple[Status, ...] = tuple(Status)
# Statuses that need a human or an assignment before the book is clean.
CONFLICT_STATUSES: frozenset[Status] = frozenset(
    {
        Status.INACTIVE_OWNER,
        Status.DUPLICATE,
        Status.PARTNER_CONFLICT,
        Status.MISMATCH,
        Status.UNASSIGNED,
    }
)


@dataclass(frozen=True)
class Account:
    """An account in our vocabulary. Numbers may be unknown (None)."""

    id: str
    name: str = ""
    owner_id: str | None = None
    country: str | None = None
    postal_code: str | None = None
    industry: str | None = None
    employees: float | None = None
    annual_revenue: float | None = None
    domain: str | None = None
    sourcing_rep_id: str | None = None
    partner_id: str | None = None


@dataclass(frozen=True)
class Opportunity:
    """An opportunity; only open ones (``is_closed`` False) grandfather an account."""

    id: str
    account_id: str
    owner_id: str | None = None
    amount: float | None = None
    stage: str | None = None
    is_closed: bool = False


@dataclass(frozen=True)
class Rep:
    """A sales rep as the rules need it. ``capacity`` is touches per quarter (None: default)."""

    id: str
    name: str = ""
    active: bool = True
    capacity: float | None = None
    is_partner: bool = False


@dataclass(frozen=True)
class Decision:
    """What the rules say about one account.

    Attributes:
        account_id: The account.
        current_owner_id: Its owner today (None if unowned).
        expected_owner_id: Who should own it now (None when nobody can be named).
        territory_ids: Every matching territory, sorted by id.
        status: See :class:`Status` and the precedence in this module's docstring.
        reason: Human-readable explanation quoting the deciding rule.
        rule_owner_id: The owner the rules alone point to (differs from ``expected_owner_id``
            when grandfathering keeps the current owner).
        deciding_rule: Short tag of what decided the owner, e.g. ``territory:DE-NORTH``,
            ``named:ACC-42``, ``tiebreaker:priority``.
    """

    account_id: str
    current_owner_id: str | None
    expected_owner_id: str | None
    territory_ids: tuple[str, ...]
    status: Status
    reason: str
    rule_owner_id: str | None = None
    deciding_rule: str = ""
