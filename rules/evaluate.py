"""Evaluate rules of engagement over a book of accounts (vectorised, order-independent).

Pipeline: per-criterion classes -> rows grouped by their set of matching territories ->
tiebreakers once per (group, sourcing rep) -> named overrides -> status by precedence ->
reasons once per distinct outcome. Everything per row is a numpy operation; Python code
runs per *distinct* case.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from territory.rules.book import BookContext, OpportunityTable, RepDirectory
from territory.rules.coverage import (
    assign_tiers,
    cap_potential,
    potential_from_opportunities,
    potential_from_revenue,
    stage_probability,
    workload_of,
)
from territory.rules.domains import DomainIndex, normalize_domain
from territory.rules.facts import RowFacts
from territory.rules.matching import MatchIndex, bit_index_lists
from territory.rules.outcomes import Evaluation, build_outcomes
from territory.rules.records import Account, Opportunity, Rep
from territory.rules.resolve import resolve
from territory.rules.schema import RulesConfig
from territory.rules.table import AccountTable, byte_keys, gc_paused, to_bytes_column

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
    with gc_paused():
        table = accounts if isinstance(accounts, AccountTable) else AccountTable.from_accounts(list(accounts))
        opps = _opportunity_table(opportunities)
        directory = RepDirectory.build(reps, rules)
        facts = RowFacts.start(table, rules, directory, opps)
        _coverage_columns(facts)
        loads = context.loads if context is not None else current_loads(facts)
        facts.loads = loads
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
    facts.potential = cap_potential(facts.potential, settings.potential)
    facts.tier = assign_tiers(facts.potential, settings.tiers)
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
    group_of_row, group_bits = MatchIndex([t.match for t in territories]).group_rows(facts.table)
    group_sets = bit_index_lists(group_bits)
    rules = facts.rules
    resolutions = [resolve(ts, territories, rules.tiebreakers, None, loads) for ts in group_sets]
    case_of_row = group_of_row.copy()
    contested = np.array([r.tiebreaker is not None for r in resolutions] + [False])
    if "sourcing_rep" in rules.tiebreakers and contested.any():
        # The sourcing rep only matters where it owns one of the contested territories.
        span = len(facts.rep_labels) + 1
        owner_pairs = np.unique(np.array(
            [g * span + facts.rep_index[territories[t].owner] for g, ts in enumerate(group_sets) if contested[g] for t in ts], dtype=np.int64
        ))
        candidates = np.flatnonzero(contested[group_of_row] & (facts.sourcing >= 0))
        pairs = group_of_row[candidates] * span + facts.sourcing[candidates]
        hit = sorted_member(pairs, owner_pairs)
        extra_keys, extra_of_row = np.unique(pairs[hit], return_inverse=True)
        for key in extra_keys.tolist():
            group, sourcing_code = divmod(key, span)
            resolutions.append(resolve(group_sets[group], territories, rules.tiebreakers, facts.rep_labels[sourcing_code], loads))
        case_of_row[candidates[hit]] = len(group_sets) + extra_of_row
    facts.resolutions = resolutions
    facts.resolution_of_row = case_of_row
    owner_of_case = np.array([facts.rep_index[r.owner] if r.owner else -1 for r in resolutions] + [-1], dtype=np.int64)
    facts.rule_owner = owner_of_case[facts.resolution_of_row]


def sorted_member(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``np.isin`` for a sorted unique ``sorted_set``, by binary search (no big sort)."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=bool)
    slots = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[slots] == values


def _named_column(facts: RowFacts) -> None:
    """Index of the named entry per row (-1 none); an account-id entry beats a domain entry."""
    table = facts.table
    named = np.full(len(table), -1, dtype=np.int64)
    entries = facts.rules.named_accounts
    by_domain = {normalize_domain(e.domain): i for i, e in reversed(list(enumerate(entries))) if e.domain}
    if by_domain:
        width = max(table.domain.dtype.itemsize, max(len(k.encode("utf-8")) for k in by_domain))
        column_keys, _ = byte_keys(table.domain.astype(f"S{width}"))
        wanted_keys, _ = byte_keys(to_bytes_column(list(by_domain)).astype(f"S{width}"))
        for row in np.flatnonzero(sorted_member(column_keys, np.unique(wanted_keys))).tolist():
            entry = by_domain.get(table.domain[row].decode("utf-8", "replace"))
            if entry is not None:  # the exact check behind the hash
                named[row] = entry
    by_account = {e.account: i for i, e in reversed(list(enumerate(entries))) if e.account}
    if by_account:
        rows = table.rows_of(to_bytes_column(list(by_account)))
        found = rows >= 0
        named[rows[found]] = np.array(list(by_account.values()), dtype=np.int64)[found]
    facts.named = named
    owners = np.array([facts.rep_index[e.owner] for e in entries] + [-1], dtype=np.int64)
    facts.rule_owner = np.where(named >= 0, owners[named], facts.rule_owner)


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
    keys, _ = byte_keys(table.domain)
    ordered = np.sort(keys)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    empty_key, _ = byte_keys(np.array([b""], dtype=table.domain.dtype))
    repeated = repeated[repeated != empty_key[0]]
    shared = np.flatnonzero(sorted_member(keys, repeated) & (table.domain != b""))
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
    masks = MatchIndex([rule.match for _, rule in present]).masks(facts.table) if present else []
    empty = np.zeros(len(facts.table), dtype=bool)
    columns = {name: masks[i] for i, (name, _) in enumerate(present)}
    facts.partner_led = columns.get("partner_led", empty)
    facts.direct_only = columns.get("direct_only", empty)


def _grandfather_column(facts: RowFacts) -> None:
    """Rows with an open opportunity owned by the current owner (or by nobody)."""
    keeps = np.zeros(len(facts.table), dtype=bool)
    facts.grandfather_opp = (np.empty(0, np.int64), np.empty(0, np.int64))
    if facts.opps is not None and facts.rules.grandfather_open_opportunities and len(facts.table):
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

