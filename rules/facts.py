"""Per-row facts of one evaluation and the outcome type (owner, status, reason) they lead to.

:mod:`territory.rules.outcomes` groups rows into outcomes; :mod:`territory.rules.reasons`
words them. Both read the types here, so neither imports the other's module for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from territory.rules.book import OpportunityTable, RepDirectory
from territory.rules.records import STATUS_PRECEDENCE, Status
from territory.rules.resolve import Resolution
from territory.rules.schema import RulesConfig
from territory.rules.table import AccountTable, Coded

_S = {status: code for code, status in enumerate(STATUS_PRECEDENCE)}
_INDIVIDUAL = (_S[Status.DUPLICATE], _S[Status.GRANDFATHERED])
# Statuses whose expected owner or reason depends on the current owner.
_BY_CURRENT_OWNER = (_S[Status.INACTIVE_OWNER], _S[Status.UNCOVERED])


class Outcome(NamedTuple):
    """Everything in a decision except the account id and its current owner."""

    expected_owner_id: str | None
    territory_ids: tuple[str, ...]
    status: Status
    reason: str
    rule_owner_id: str | None
    deciding_rule: str


def _none() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


@dataclass
class RowFacts:
    """Columns computed during one evaluation (codes index ``rep_labels``; -1 = none)."""

    table: AccountTable
    rules: RulesConfig
    directory: RepDirectory
    opps: OpportunityTable | None
    rep_labels: list[str]
    rep_index: dict[str, int]
    owner: np.ndarray = field(default_factory=_none)
    sourcing: np.ndarray = field(default_factory=_none)
    opp_account_rows: np.ndarray = field(default_factory=_none)
    # coverage (rules.coverage)
    potential: np.ndarray = field(default_factory=_none)
    tier: np.ndarray = field(default_factory=_none)
    workload: np.ndarray = field(default_factory=_none)
    # territories and tiebreakers: one Resolution per (territory set, relevant sourcing rep)
    loads: dict[str, float] = field(default_factory=dict)  # workload / capacity per rep
    resolutions: list[Resolution] = field(default_factory=list)
    resolution_of_row: np.ndarray = field(default_factory=_none)
    rule_owner: np.ndarray = field(default_factory=_none)
    match_count: np.ndarray = field(default_factory=_none)
    named: np.ndarray = field(default_factory=_none)
    # checks
    duplicate: np.ndarray = field(default_factory=_none)
    shared_domain_rows: np.ndarray = field(default_factory=_none)
    domain_index: Any = None  # a DomainIndex when evaluating a subset against a book
    partner_led: np.ndarray = field(default_factory=_none)
    direct_only: np.ndarray = field(default_factory=_none)
    partner_variant: np.ndarray = field(default_factory=_none)
    open_opportunity: np.ndarray = field(default_factory=_none)
    grandfather_opp: tuple[np.ndarray, np.ndarray] = field(default_factory=lambda: (_none(), _none()))
    # results
    status: np.ndarray = field(default_factory=_none)
    expected: np.ndarray = field(default_factory=_none)
    caches: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(cls, table: AccountTable, rules: RulesConfig, directory: RepDirectory, opps: OpportunityTable | None) -> RowFacts:
        labels = set(table.owner.labels) | set(table.sourcing.labels) | set(directory.reps) | set(directory.partner_ids)
        labels |= {t.owner for t in rules.territories} | {n.owner for n in rules.named_accounts}
        if opps is not None:
            labels |= set(opps.owner.labels)
        rep_labels = sorted(labels)
        rep_index = {rep: i for i, rep in enumerate(rep_labels)}
        facts = cls(table, rules, directory, opps, rep_labels, rep_index)
        facts.owner = facts.remap(table.owner)
        facts.sourcing = facts.remap(table.sourcing)
        facts.opp_account_rows = opps.account_rows(table) if opps is not None else np.empty(0, np.int64)
        return facts

    def remap(self, column: Coded) -> np.ndarray:
        """A coded column's codes translated into rep codes."""
        lookup = np.array([self.rep_index[label] for label in column.labels] + [-1], dtype=np.int64)
        return lookup[column.codes]

    def rep(self, code: int) -> str | None:
        return self.rep_labels[code] if code >= 0 else None

    def decide_statuses(self) -> None:
        """Status per row by precedence, and the expected owner."""
        active = np.array([self.directory.is_active(r) for r in self.rep_labels] + [True])
        partner = np.array([self.directory.is_partner(r) for r in self.rep_labels] + [False])
        cur, rule = self.owner, self.rule_owner
        partner_cur = partner[cur] & (cur >= 0)
        self.partner_variant = (
            (self.partner_led & (cur >= 0) & ~partner_cur) * 1
            + (self.direct_only & (self.table.partner.codes >= 0)) * 2
            + (self.direct_only & partner_cur) * 4
        )
        differs = (rule >= 0) & (rule != cur)
        grandfathered = differs & (cur >= 0) & active[cur] & self.open_opportunity
        contested = np.array([r.tiebreaker is not None for r in self.resolutions] + [False])[self.resolution_of_row]
        conditions = [
            ~active[cur] | ~active[rule],
            self.duplicate,
            self.partner_variant > 0,
            grandfathered,
            differs,
            (rule < 0) & (cur < 0),
            rule < 0,
            self.named >= 0,
            contested,
        ]
        self.status = np.select(conditions, list(range(len(conditions))), default=_S[Status.OK]).astype(np.int64)
        # The expected owner depends only on the status, the rules' owner and (for the
        # statuses keyed by it) the current owner, so rows sharing an outcome agree on it.
        expected = np.where(self.status == _S[Status.GRANDFATHERED], cur, np.where(rule >= 0, rule, cur))
        self.expected = np.where(active[expected], expected, -1)
