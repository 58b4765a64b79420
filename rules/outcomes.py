"""The distinct outcomes (owner, status, reason) of one evaluation, grouped from its row facts.

Rows that share every fact a reason depends on share one :class:`Outcome`; only rows whose
reason cites something of their own (the other account of a duplicate, the opportunity
that grandfathers) get an outcome each. That keeps reason formatting off the per-row path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from territory.rules.coverage import Balance, RepCoverage, balance, rep_coverage
from territory.rules.facts import _BY_CURRENT_OWNER, _INDIVIDUAL, _S, Outcome, RowFacts
from territory.rules.reasons import outcome_builder
from territory.rules.records import Decision, Status
from territory.rules.resolve import Resolution, resolve


def build_outcomes(facts: RowFacts) -> Evaluation:
    """Group rows into distinct outcomes and format each outcome's reason once."""
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
