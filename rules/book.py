"""The context an evaluation needs besides the accounts: reps, opportunities, the whole book.

- :class:`RepDirectory`: which reps exist, are active, are partner-channel reps, capacity.
- :class:`OpportunityTable`: opportunities as columns (open pipeline, grandfathering).
- :class:`BookContext`: facts about the *whole* book (domain index, rep loads) so a subset
  of accounts (an inbound batch) can be evaluated exactly as in a full run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from territory.rules.domains import DomainIndex
from territory.rules.records import Opportunity, Rep
from territory.rules.schema import RulesConfig
from territory.rules.table import AccountTable, Coded, factorize, to_bytes_column, to_float_column


@dataclass(frozen=True)
class RepDirectory:
    """Known reps. Reps not listed count as active non-partner reps with default capacity."""

    reps: dict[str, Rep] = field(default_factory=dict)
    partner_ids: frozenset[str] = frozenset()

    @classmethod
    def build(cls, reps: Iterable[Rep] | None, rules: RulesConfig) -> RepDirectory:
        by_id = {rep.id: rep for rep in reps or ()}
        partners = {rep.id for rep in by_id.values() if rep.is_partner} | set(rules.partner_reps)
        return cls(by_id, frozenset(partners))

    def is_active(self, rep_id: str) -> bool:
        rep = self.reps.get(rep_id)
        return rep is None or rep.active

    def is_partner(self, rep_id: str) -> bool:
        return rep_id in self.partner_ids

    def capacity(self, rep_id: str, default: float) -> float:
        rep = self.reps.get(rep_id)
        return rep.capacity if rep is not None and rep.capacity else default


@dataclass
class OpportunityTable:
    """Opportunities as columns."""

    ids: np.ndarray
    account_ids: np.ndarray
    owner: Coded
    amount: np.ndarray
    stage: Coded
    is_closed: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_opportunities(cls, opportunities: Sequence[Opportunity]) -> OpportunityTable:
        return cls(
            ids=to_bytes_column([o.id for o in opportunities]),
            account_ids=to_bytes_column([o.account_id for o in opportunities]),
            owner=factorize(to_bytes_column([o.owner_id for o in opportunities])),
            amount=to_float_column([o.amount for o in opportunities]),
            stage=factorize(to_bytes_column([o.stage for o in opportunities])),
            is_closed=np.array([o.is_closed for o in opportunities], dtype=bool),
        )

    def open_rows(self) -> np.ndarray:
        return np.flatnonzero(~self.is_closed)

    def account_rows(self, table: AccountTable) -> np.ndarray:
        """Row in ``table`` of each opportunity's account, -1 when it is not there."""
        return table.rows_of(self.account_ids)


@dataclass
class BookContext:
    """Whole-book facts for evaluating a subset of accounts.

    Attributes:
        domains: Domain index over every account in the book.
        loads: Workload / capacity per rep over the whole book (for ``lowest_load``).
    """

    domains: DomainIndex
    loads: dict[str, float]

    def related_account_ids(self, changed_ids: Iterable[str]) -> set[str]:
        """Changed accounts plus those sharing a domain with them (re-evaluate these)."""
        return self.domains.related_account_ids(changed_ids)
