"""Whitespace from the store: unmatched prospects placed in territories by the rules.

:func:`whitespace_report` is what ``territory market whitespace`` prints and what a report
page calls; :func:`placed_prospects` gives the same prospects with potential, workload and
the rules' owner for the planner (``plan --include-prospects``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from territory import rules
from territory.rules.market.whitespace import (
    AreaFigures,
    Whitespace,
    add_to,
    prospect_potential,
    tiers_by_thresholds,
)
from territory.sync.book import Book, load_book
from territory.sync.market import MarketStore
from territory.sync.store import Store

UNASSIGNED = "(no territory)"


@dataclass(frozen=True)
class PlacedProspect:
    """A whitespace prospect with what the rules make of it."""

    key: str
    source: str
    name: str
    potential: float
    workload: float
    territory_id: str
    owner_id: str | None
    row: dict[str, object]

    @property
    def plan_id(self) -> str:
        """Its id among planner accounts (never a CRM id)."""
        return f"prospect:{self.source}:{self.key}"


def placed_prospects(store: Store, crm: str, rule_config: rules.RulesConfig, source: str | None = None,
                     book: Book | None = None, evaluation: rules.Evaluation | None = None) -> list[PlacedProspect]:
    """Unmatched prospects of ``source`` (or every source) with potential, workload and territory."""
    book = book or load_book(store, crm)
    evaluation = evaluation or rules.evaluate(book.accounts, rule_config, reps=book.reps, opportunities=book.opportunities)
    rows = [r for r in MarketStore(store).prospects(source) if not r["account_id"]]
    if not rows:
        return []
    coverage = rule_config.coverage
    potential = prospect_potential([r["annual_revenue"] for r in rows], [r["employees"] for r in rows],
                                   [r["industry"] for r in rows], coverage.potential)
    tiers = tiers_by_thresholds(np.asarray(evaluation.facts.potential, dtype=float), np.asarray(evaluation.facts.tier),
                                potential, coverage.tiers)
    workload = rules.workload_of(tiers, coverage.tiers)
    accounts = [rules.Account(id=f"prospect:{r['source']}:{r['key']}", name=r["name"], country=r["country"],
                              postal_code=r["postal_code"], industry=r["industry"], employees=r["employees"],
                              annual_revenue=r["annual_revenue"], domain=r["domain"]) for r in rows]
    context = rules.build_book_context(book.accounts, rule_config, reps=book.reps, opportunities=book.opportunities)
    placed = rules.evaluate(accounts, rule_config, reps=book.reps, context=context)
    territories = rule_config.territories
    out = []
    for i, r in enumerate(rows):
        decision = placed.decision(i)
        chosen = placed.resolution(i).territory
        territory = "named" if decision.status == rules.Status.NAMED else (territories[chosen].id if chosen is not None else UNASSIGNED)
        out.append(PlacedProspect(r["key"], r["source"], r["name"], float(potential[i]), float(workload[i]), territory,
                                  decision.rule_owner_id, r))
    return out


def whitespace_report(store: Store, crm: str, rule_config: rules.RulesConfig, source: str | None = None) -> Whitespace:
    """CRM vs untapped potential per territory and rep, and the territories too large to work.

    CRM accounts count in the territory that decides them and for their current owner;
    prospects in the territory the rules place them in and for its owner. Capacity is the
    rep's (``coverage.capacity_per_rep`` by default).
    """
    book = load_book(store, crm)
    evaluation = rules.evaluate(book.accounts, rule_config, reps=book.reps, opportunities=book.opportunities)
    prospects = placed_prospects(store, crm, rule_config, source, book, evaluation)
    territories = rule_config.territories
    areas_t: dict[str, AreaFigures] = {}
    areas_r: dict[str, AreaFigures] = {}
    potential, workload = evaluation.facts.potential, evaluation.facts.workload
    for row, account in enumerate(book.accounts):
        chosen = evaluation.resolution(row).territory
        key = territories[chosen].id if chosen is not None else UNASSIGNED
        owner = territories[chosen].owner if chosen is not None else None
        add_to(areas_t, key, owner, crm=True, potential=float(potential[row]), workload=float(workload[row]))
        if account.owner_id:
            add_to(areas_r, account.owner_id, account.owner_id, crm=True, potential=float(potential[row]), workload=float(workload[row]))
    owners = {t.id: t.owner for t in territories}
    for p in prospects:
        add_to(areas_t, p.territory_id, owners.get(p.territory_id, p.owner_id), crm=False, potential=p.potential, workload=p.workload)
        if p.owner_id:
            add_to(areas_r, p.owner_id, p.owner_id, crm=False, potential=p.potential, workload=p.workload)
    default = rule_config.coverage.capacity_per_rep
    capacity = {rep.id: rep.capacity or default for rep in book.reps}
    for area in [*areas_t.values(), *areas_r.values()]:
        area.capacity = capacity.get(area.owner_id or "", default) if area.owner_id else float("inf")
    # a rep owning several territories: the territory is too large when the rep's book is
    rep_total = {r.id: r.crm_workload + r.untapped_workload for r in areas_r.values()}
    for area in areas_t.values():
        if area.owner_id in rep_total:
            area.capacity = max(0.0, area.capacity - (rep_total[area.owner_id] - area.crm_workload - area.untapped_workload))
    return Whitespace(sorted(areas_t.values(), key=lambda a: a.id), sorted(areas_r.values(), key=lambda a: a.id))
