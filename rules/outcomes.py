"""Per-row facts, status precedence, and the distinct outcomes (owner, status, reason).

Rows that share every fact a reason depends on share one :class:`Outcome`; only rows whose
reason cites something of their own (the other account of a duplicate, the opportunity
that grandfathers) get an outcome each. That keeps reason formatting off the per-row path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from territory.rules.book import OpportunityTable, RepDirectory
from territory.rules.coverage import Balance, RepCoverage, balance, rep_coverage
from territory.rules.records import STATUS_PRECEDENCE, Decision, Status
from territory.rules.resolve import Resolution, resolve
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


def build_outcomes(facts: RowFacts) -> Evaluation:
    """Group rows into distinct outcomes and format each outcome's reason once."""
    from territory.rules.reasons import outcome_builder

    rows = len(facts.table)
    outcome_of_row = np.empty(rows, dtype=np.int64)
    # Most rows are "plain": their outcome depends on (resolution, status, channel variant)
    # only, a small dense key space numbered without sorting.
    plain_key = (facts.resolution_of_row * len(_S) + facts.status) * 8 + facts.partner_variant
    # Without a rule owner the expected owner is the current one, whatever the status.
    owner_keyed = np.isin(facts.status, _BY_CURRENT_OWNER) | (facts.rule_owner < 0)
    by_owner = np.where(owner_keyed, facts.owner + 1, 0)
    individual = np.isin(facts.status, _INDIVIDUAL)
    special = ((facts.named >= 0) | (by_owner > 0)) & ~individual
    plain = ~special & ~individual
    count = _number_keys(plain_key, plain, (len(facts.resolutions) + 1) * len(_S) * 8, outcome_of_row, 0)
    # Named entries and owner-dependent statuses: few rows, numbered by a sort.
    special_key = np.stack([plain_key[special], facts.named[special], by_owner[special]], axis=1)
    _, special_codes = np.unique(special_key, axis=0, return_inverse=True)
    outcome_of_row[special] = count + special_codes.reshape(-1)
    count += int(special_codes.max()) + 1 if len(special_codes) else 0
    # Duplicates and grandfathered rows cite something of their own: one outcome each.
    outcome_of_row[individual] = count + np.arange(int(individual.sum()))
    first_rows = np.empty(count + int(individual.sum()), dtype=np.int64)
    first_rows[outcome_of_row[::-1]] = np.arange(rows - 1, -1, -1)  # last write wins: first row
    columns = (facts.status, facts.owner, facts.rule_owner, facts.expected, facts.resolution_of_row, facts.named)
    picked = [column[first_rows].tolist() for column in columns]
    build = outcome_builder(facts)
    outcomes = [build(row, *values) for row, *values in zip(first_rows.tolist(), *picked)]
    return Evaluation(facts, outcome_of_row, outcomes)


def _number_keys(keys: np.ndarray, selected: np.ndarray, size: int, out: np.ndarray, offset: int) -> int:
    """Number the distinct ``keys[selected]`` (all in ``[0, size)``) into ``out``; returns
    how many there are. Dense keys use a presence table (no sort); sparse ones a sort."""
    chosen = keys[selected]
    if size <= 4 * len(keys) + 1_000_000:
        present = np.zeros(size, dtype=bool)
        present[chosen] = True
        code_of = np.cumsum(present) - 1
        out[selected] = offset + code_of[chosen]
        return int(present.sum())
    distinct, codes = np.unique(chosen, return_inverse=True)
    out[selected] = offset + codes.reshape(-1)
    return len(distinct)


@dataclass
class Evaluation:
    """Decisions for every evaluated account, in input order.

    Rows sharing an outcome share one :class:`Outcome` object (``outcome_of_row``).
    """

    facts: RowFacts
    outcome_of_row: np.ndarray
    outcomes: list[Outcome]
    elapsed_seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.outcome_of_row)

    def account_id(self, row: int) -> str:
        return self.facts.table.ids[row].decode("utf-8", "replace")

    def decision(self, row: int) -> Decision:
        """The decision for one row."""
        o = self.outcomes[int(self.outcome_of_row[row])]
        current = self.facts.rep(int(self.facts.owner[row]))
        return Decision(self.account_id(row), current, o.expected_owner_id, o.territory_ids, o.status, o.reason, o.rule_owner_id, o.deciding_rule)

    def decisions(self) -> Iterator[Decision]:
        """Every decision in input order."""
        for row in range(len(self)):
            yield self.decision(row)

    def row_of(self, account_id: str) -> int | None:
        """Row of an account id, or None."""
        row = int(self.facts.table.rows_of(np.array([account_id.encode("utf-8")]))[0])
        return row if row >= 0 else None

    def auto_assignments(self) -> list[Decision]:
        """Unowned accounts the rules can assign directly (only when ``auto_assign: true``).

        These are ``mismatch`` decisions without a current owner; the reason is the rule to
        record in the audit history.
        """
        if not self.facts.rules.auto_assign:
            return []
        wanted = (self.facts.owner < 0) & (self.facts.expected >= 0) & (self.facts.status == _S[Status.MISMATCH])
        return [self.decision(row) for row in np.flatnonzero(wanted).tolist()]

    def status_counts(self) -> dict[str, int]:
        """Accounts per status (every status present, zero included), in precedence order."""
        counts = np.bincount(self.facts.status, minlength=len(_S))
        return {status.value: int(counts[code]) for status, code in _S.items()}

    def territory_counts(self) -> dict[str, int]:
        """Accounts matched per territory id (an account in an overlap counts for each)."""
        per_case = np.bincount(self.facts.resolution_of_row, minlength=len(self.facts.resolutions))
        totals = {t.id: 0 for t in self.facts.rules.territories}
        for resolution, count in zip(self.facts.resolutions, per_case.tolist()):
            for index in resolution.matched:
                totals[self.facts.rules.territories[index].id] += count
        return totals

    def coverage(self, which: str = "expected") -> list[RepCoverage]:
        """Per-rep coverage of the ``expected`` (after rules) or ``current`` book."""
        owners = self.facts.expected if which == "expected" else self.facts.owner
        default = self.facts.rules.coverage.capacity_per_rep
        capacities = {rep: self.facts.directory.capacity(rep, default) for rep in self.facts.rep_labels}
        return rep_coverage(owners, self.facts.rep_labels, self.facts.potential, self.facts.workload, capacities, self.facts.rules.coverage)

    def potential_balance(self, which: str = "expected") -> Balance:
        """Balance of potential across reps that own at least one account in that book."""
        owned = [c.potential for c in self.coverage(which) if c.accounts > 0]
        return balance(owned)

    def resolution(self, row: int, *, trace: bool = False) -> Resolution:
        """The territory step of ``row``; ``trace`` re-runs it recording every step."""
        resolution = self.facts.resolutions[int(self.facts.resolution_of_row[row])]
        if not trace:
            return resolution
        rules = self.facts.rules
        return resolve(resolution.matched, rules.territories, rules.tiebreakers, resolution.sourcing_rep, self.facts.loads, trace=True)
