"""Evaluate rules of engagement over a book of accounts (vectorised, order-independent).

Pipeline: territory bitsets -> groups of equal bitsets -> tiebreakers once per (group,
sourcing rep) -> named overrides -> status by precedence -> reasons once per distinct
outcome. Everything per row is a numpy operation; Python code runs per *distinct* case.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from rules.book import BookContext, OpportunityTable, RepDirectory
from rules.coverage import (
    assign_tiers,
    potential_from_opportunities,
    potential_from_revenue,
    stage_probability,
    workload_of,
)
from rules.domains import DomainIndex
from rules.matching import MatchIndex, bit_indexes
from rules.outcomes import Evaluation, RowFacts, build_outcomes
from rules.records import Account, Opportunity, Rep, Status
from rules.resolve import Resolution, resolve
from rules.schema import RulesConfig
from rules.table import AccountTable, Coded, byte_keys, to_bytes_column

AccountsInput = Sequence[Account] | AccountTable
OpportunitiesInput = Sequence[Opportunity] | OpportunityTable | None


def evaluate(
    accounts: AccountsInput,
    rules: RulesConfig,
    *,
    reps: Iterable[Rep] | None = None,
    opportunities: OpportunitiesInput = None,
    context: BookContext | None = None,
) -> Evaluation:
    """Decide expected owner, status and reason for every account.

    Args:
        accounts: The accounts to evaluate (records or an :class:`AccountTable`).
        rules: Validated rules (see :func:`rules.load_rules`).
        reps: Known reps (activity, partner flag, capacity); optional.
        opportunities: Opportunities of these accounts (open ones grandfather / weigh).
        context: Whole-book facts when ``accounts`` is only a subset of the book (inbound
            batch): duplicates and loads are then judged against the whole book.

    Returns:
        An :class:`Evaluation`; its decisions follow the input order and do not depend on it.
    """
    started = time.perf_counter()
    table = accounts if isinstance(accounts, AccountTable) else AccountTable.from_accounts(list(accounts))
    opps = _opportunity_table(opportunities)
    directory = RepDirectory.build(reps, rules)
    facts = RowFacts.start(table, rules, directory, opps)
    _coverage_columns(facts)
    loads = context.loads if context is not None else current_loads(facts)
    _territory_columns(facts, loads)
    _named_column(facts)
    _duplicate_column(facts, context)
    _channel_columns(facts)
    _grandfather_column(facts)
    facts.decide_statuses()
    evaluation = build_outcomes(facts)
    evaluation.elapsed_seconds = time.perf_counter() - started
    return evaluation


def build_book_context(
    accounts: AccountsInput,
    rules: RulesConfig,
    *,
    reps: Iterable[Rep] | None = None,
    opportunities: OpportunitiesInput = None,
) -> BookContext:
    """Whole-book facts (domain index, rep loads) for later subset evaluations."""
    table = accounts if isinstance(accounts, AccountTable) else AccountTable.from_accounts(list(accounts))
    facts = RowFacts.start(table, rules, RepDirectory.build(reps, rules), _opportunity_table(opportunities))
    _coverage_columns(facts)
    ids = table.id_list()
    domains = [d.decode("utf-8", "replace") for d in table.domain.tolist()]
    owners = [table.owner.value(row) for row in range(len(table))]
    return BookContext(DomainIndex(zip(ids, domains, owners)), current_loads(facts))


def _opportunity_table(opportunities: OpportunitiesInput) -> OpportunityTable | None:
    if opportunities is None or isinstance(opportunities, OpportunityTable):
        return opportunities
    return OpportunityTable.from_opportunities(list(opportunities))


def _coverage_columns(facts: RowFacts) -> None:
    """Potential, tier and workload per row (rules.coverage is the one definition)."""
    settings = facts.rules.coverage
    if settings.potential.method == "opportunities" and facts.opps is not None:
        opps = facts.opps
        open_rows = opps.open_rows()
        probability = np.array([stage_probability(label, settings.potential) for label in opps.stage.labels] + [settings.potential.default_probability])
        facts.potential = potential_from_opportunities(
            facts.opp_account_rows[open_rows], opps.amount[open_rows], probability[opps.stage.codes[open_rows]], len(facts.table)
        )
    else:
        facts.potential = potential_from_revenue(facts.table.annual_revenue, settings.potential)
    id_keys, _ = byte_keys(facts.table.ids)  # tie order independent of row order
    facts.tier = assign_tiers(facts.potential, settings.tiers, id_keys)
    facts.workload = workload_of(facts.tier, settings.tiers)


def current_loads(facts: RowFacts) -> dict[str, float]:
    """Workload / capacity per rep over the current owners of ``facts``' book."""
    owned = facts.owner >= 0
    workload = np.bincount(facts.owner[owned], weights=facts.workload[owned], minlength=len(facts.rep_labels))
    default = facts.rules.coverage.capacity_per_rep
    return {rep: float(workload[i]) / facts.directory.capacity(rep, default) for i, rep in enumerate(facts.rep_labels)}


def _territory_columns(facts: RowFacts, loads: dict[str, float]) -> None:
    """Matched territory set per row and the tiebreaker resolution per (set, sourcing rep)."""
    territories = facts.rules.territories
    bits = MatchIndex([t.match for t in territories]).match_bits(facts.table)
    group_of_row, first_rows = _group_equal_rows(bits)
    group_sets = [bit_indexes(bits[row]) for row in first_rows]
    # The sourcing rep only matters where it owns one of the contested territories.
    rep_count = len(facts.rep_labels) + 1
    owner_pairs = np.array(
        [g * rep_count + facts.rep_index[territories[t].owner] for g, ts in enumerate(group_sets) if len(ts) > 1 for t in ts],
        dtype=np.int64,
    )
    row_pairs = group_of_row.astype(np.int64) * rep_count + facts.sourcing
    relevant = np.isin(row_pairs, owner_pairs) & (facts.sourcing >= 0) if "sourcing_rep" in facts.rules.tiebreakers else np.zeros(len(row_pairs), bool)
    effective_sourcing = np.where(relevant, facts.sourcing, -1)
    case_keys = group_of_row.astype(np.int64) * rep_count + (effective_sourcing + 1)
    cases, case_of_row = np.unique(case_keys, return_inverse=True)
    resolutions: list[Resolution] = []
    for key in cases.tolist():
        group, sourcing_code = divmod(key, rep_count)
        sourcing = facts.rep_labels[sourcing_code - 1] if sourcing_code else None
        resolutions.append(resolve(group_sets[group], territories, facts.rules.tiebreakers, sourcing, loads))
    facts.resolutions = resolutions
    facts.resolution_of_row = case_of_row.astype(np.int64)
    owner_of_case = np.array([facts.rep_index[r.owner] if r.owner else -1 for r in resolutions] + [-1], dtype=np.int64)
    facts.rule_owner = owner_of_case[facts.resolution_of_row]
    facts.match_count = np.array([len(r.matched) for r in resolutions], dtype=np.int64)[facts.resolution_of_row]


def _group_equal_rows(bits: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Group rows with identical bitsets: (group per row, first row of each group)."""
    rows = len(bits)
    if rows == 0:
        return np.empty(0, dtype=np.int64), []
    keys = bits[:, 0].copy()
    for column in range(1, bits.shape[1]):
        keys = keys * np.uint64(0x9E3779B97F4A7C15) ^ bits[:, column]
    unique_keys, group_of_row = np.unique(keys, return_inverse=True)
    first = np.empty(len(unique_keys), dtype=np.int64)
    first[group_of_row[::-1]] = np.arange(rows - 1, -1, -1)
    if bits.shape[1] > 1 and not np.array_equal(bits, bits[first[group_of_row]]):
        unique_rows, group_of_row = np.unique(bits, axis=0, return_inverse=True)
        first = np.empty(len(unique_rows), dtype=np.int64)
        first[group_of_row[::-1]] = np.arange(rows - 1, -1, -1)
    return group_of_row.astype(np.int64), first.tolist()


def _named_column(facts: RowFacts) -> None:
    """Index of the named entry per row (-1 none); an account-id entry beats a domain entry."""
    named = np.full(len(facts.table), -1, dtype=np.int64)
    entries = facts.rules.named_accounts
    for field, column in (("domain", facts.table.domain), ("account", facts.table.ids)):
        wanted = {(getattr(e, field) if field == "account" else _domain_key(e.domain)): i for i, e in reversed(list(enumerate(entries))) if getattr(e, field)}
        if not wanted:
            continue
        keys = to_bytes_column(list(wanted))
        hits = np.flatnonzero(np.isin(column, keys))
        for row in hits.tolist():
            named[row] = wanted[column[row].decode("utf-8", "replace")]
    facts.named = named
    owners = np.array([facts.rep_index[e.owner] for e in entries] + [-1], dtype=np.int64)
    facts.rule_owner = np.where(named >= 0, owners[named], facts.rule_owner)


def _domain_key(domain: str | None) -> str:
    from rules.domains import normalize_domain

    return normalize_domain(domain)


def _duplicate_column(facts: RowFacts, context: BookContext | None) -> None:
    """Rows whose domain is shared with another account owned by someone else."""
    table = facts.table
    if context is not None:
        ids = table.id_list()
        facts.duplicate = np.array(
            [bool(context.domains.conflicting_holders(ids[r], table.domain[r].decode(), table.owner.value(r))) for r in range(len(table))],
            dtype=bool,
        )
        facts.domain_index = context.domains
        return
    has_domain = table.domain != b""
    keys, _ = byte_keys(table.domain)
    candidates = np.flatnonzero(has_domain)
    _, inverse, counts = np.unique(keys[candidates], return_inverse=True, return_counts=True)
    shared = candidates[counts[inverse] > 1]
    duplicate = np.zeros(len(table), dtype=bool)
    if len(shared):
        # Exact grouping on the few shared rows (no reliance on the hash).
        _, group = np.unique(table.domain[shared], return_inverse=True)
        owners = facts.owner[shared]
        low = np.full(group.max() + 1, np.iinfo(np.int64).max)
        high = np.full(group.max() + 1, np.iinfo(np.int64).min)
        np.minimum.at(low, group, owners)
        np.maximum.at(high, group, owners)
        duplicate[shared] = low[group] != high[group]
    facts.duplicate = duplicate
    facts.shared_domain_rows = shared


def _channel_columns(facts: RowFacts) -> None:
    channels = facts.rules.channels
    rules = [("partner_led", channels.partner_led), ("direct_only", channels.direct_only)]
    present = [(name, rule) for name, rule in rules if rule is not None]
    matched = MatchIndex([rule.match for _, rule in present]).matched(facts.table) if present else None
    empty = np.zeros(len(facts.table), dtype=bool)
    columns = {name: (matched[:, i] if matched is not None else empty) for i, (name, _) in enumerate(present)}
    facts.partner_led = columns.get("partner_led", empty)
    facts.direct_only = columns.get("direct_only", empty)


def _grandfather_column(facts: RowFacts) -> None:
    """Rows with an open opportunity owned by the current owner (or by nobody)."""
    keeps = np.zeros(len(facts.table), dtype=bool)
    facts.grandfather_opp = (np.empty(0, np.int64), np.empty(0, np.int64))
    if facts.opps is not None and facts.rules.grandfather_open_opportunities:
        opps = facts.opps
        open_rows = opps.open_rows()
        rows = facts.opp_account_rows[open_rows]
        opp_owner = facts.remap(opps.owner)[open_rows]
        known = rows >= 0
        qualifies = known & ((opp_owner < 0) | (opp_owner == facts.owner[np.where(known, rows, 0)]))
        keeps[rows[qualifies]] = True
        # Cite the qualifying opportunity with the smallest id: independent of input order.
        account_rows, opp_rows = rows[qualifies], open_rows[qualifies]
        order = np.lexsort((opps.ids[opp_rows], account_rows))
        unique_rows, first = np.unique(account_rows[order], return_index=True)
        facts.grandfather_opp = (unique_rows, opp_rows[order][first])
    facts.open_opportunity = keeps


__all__ = ["Evaluation", "Status", "build_book_context", "current_loads", "evaluate", "Coded"]
