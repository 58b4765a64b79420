"""Build a planner instance from the synced store, and keep plans as named scenarios.

Potential and workload come from the rules module's coverage math (``rules.coverage``, the
one definition shared with reports): potential by the rules file's formula, ABC tier by
cumulative potential, workload = touches per quarter of the tier. With grandfathering on,
accounts with an open opportunity are locked to their owner, and so are named accounts that
are already with their named owner.

The CRM holds no home address for reps, so a rep's home is taken from an optional reps.csv
overlay (``id,name,lat,lon,capacity,active,industries[,target_weight]``) or else estimated as
the median location of the accounts the rep owns today; reps without accounts start at the
median of the whole book. Accounts without coordinates take the mean location of accounts
sharing their country and first two postal digits (else their country, else the book). Every
such estimate is counted in the notes so the user sees what the plan stands on.

With ``include_prospects`` the whitespace of the market sources (unmatched prospects, see
``sync.whitespace``) joins the instance as unowned accounts: potential by the rules'
formula, workload by their coverage tier, located at their postal region's centre. Placing
one is not a move; ``StoreInstance.prospects`` tells them apart by their planner id.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from territory import rules
from territory.planner.instance import Instance, PlanAccount, PlanRep
from territory.sync.book import Book, load_book
from territory.sync.market import MarketStore
from territory.sync.store import Store
from territory.sync.whitespace import PlacedProspect, placed_prospects


@dataclass
class StoreInstance:
    """An instance built from the store plus what had to be estimated to build it."""

    instance: Instance
    notes: list[str] = field(default_factory=list)
    prospects: dict[str, PlacedProspect] = field(default_factory=dict)  # planner id -> prospect


def build_store_instance(
    store: Store,
    crm: str,
    rule_config: rules.RulesConfig,
    overlay: dict[str, PlanRep] | None = None,
    *,
    include_prospects: bool = False,
    source: str | None = None,
) -> StoreInstance:
    """The planner instance for ``crm``'s synced book under ``rule_config`` (with the
    whitespace prospects of ``source``, or of every source, when ``include_prospects``)."""
    book = load_book(store, crm)
    if not book.accounts:
        raise ValueError("the store holds no accounts: run `territory sync` first")
    evaluation = rules.evaluate(
        book.accounts, rule_config, reps=book.reps, opportunities=book.opportunities
    )
    potential = np.asarray(evaluation.facts.potential, dtype=float)
    workload = np.asarray(evaluation.facts.workload, dtype=float)
    locked = _locked_ids(book, evaluation, rule_config)
    points, notes = _account_points(store, crm, book)
    rep_ids = {rep.id for rep in book.reps}
    accounts = tuple(
        PlanAccount(
            id=a.id,
            name=a.name,
            owner_id=a.owner_id if a.owner_id in rep_ids else None,
            lat=points[a.id][0],
            lon=points[a.id][1],
            potential=float(potential[i]),
            workload=float(workload[i]),
            locked=a.id in locked,
            industry=a.industry,
        )
        for i, a in enumerate(book.accounts)
    )
    reps, rep_notes = _plan_reps(book, accounts, rule_config, overlay or {})
    notes.extend(rep_notes)
    notes.append(f"{len(locked)} accounts locked (open opportunities with grandfathering on, or named)")
    prospects: dict[str, PlacedProspect] = {}
    if include_prospects:
        known_sources = [s["name"] for s in MarketStore(store).sources()]
        if source is not None and source not in known_sources:
            raise ValueError(f"no market source {source!r} (imported: {', '.join(known_sources) or 'none yet'}): "
                             "see `territory market import`")
        placed = placed_prospects(store, crm, rule_config, source, book, evaluation)
        if not placed:
            raise ValueError(f"no whitespace prospects{f' in source {source!r}' if source else ''} to plan with: "
                             "import a list with `territory market import` (every prospect may match a CRM account)")
        prospects = {p.plan_id: p for p in placed}
        accounts = accounts + _prospect_accounts(placed, accounts, store, crm)
        total = sum(p.potential for p in placed)
        notes.append(f"{len(placed)} whitespace prospects included as unowned accounts (potential {total:,.0f}), "
                     "placed at their postal region's centre; placing one is not a move")
    return StoreInstance(Instance(accounts=accounts, reps=reps), notes, prospects)


def _prospect_accounts(placed: list[PlacedProspect], accounts: tuple[PlanAccount, ...], store: Store,
                       crm: str) -> tuple[PlanAccount, ...]:
    """Unowned planner accounts for the prospects, at the mean location of the CRM accounts
    sharing their country and first two postal digits (else their country, else the book)."""
    rows = {r["id"]: r for r in store.iter_records("accounts", crm=crm)}
    by_region: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    by_country: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for account in accounts:
        row = rows[account.id]
        by_region[_region(row)].append((account.lat, account.lon))
        by_country[str(row["country"] or "")].append((account.lat, account.lon))
    everything = [(a.lat, a.lon) for a in accounts]
    out = []
    for p in placed:
        pool = by_region.get(_region(p.row)) or by_country.get(str(p.row["country"] or "")) or everything
        lat, lon = np.mean(np.array(pool), axis=0)
        out.append(PlanAccount(id=p.plan_id, name=p.name, owner_id=None, lat=float(lat), lon=float(lon),
                               potential=p.potential, workload=p.workload, locked=False,
                               industry=str(p.row["industry"]) if p.row.get("industry") else None))
    return tuple(out)


def _locked_ids(book: Book, evaluation: rules.Evaluation, rule_config: rules.RulesConfig) -> set[str]:
    locked: set[str] = set()
    if rule_config.grandfather_open_opportunities:
        owners = {a.id: a.owner_id for a in book.accounts}
        locked |= {o.account_id for o in book.opportunities if owners.get(o.account_id)}
    for decision in evaluation.decisions():
        if decision.status == rules.Status.NAMED:
            locked.add(decision.account_id)
    return locked


def _account_points(store: Store, crm: str, book: Book) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """Coordinates per account id, estimating the missing ones from their neighbours."""
    rows = {r["id"]: r for r in store.iter_records("accounts", crm=crm)}
    known: dict[str, tuple[float, float]] = {}
    by_region: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    by_country: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for account in book.accounts:
        row = rows[account.id]
        if row["lat"] is None or row["lon"] is None:
            continue
        point = (float(row["lat"]), float(row["lon"]))
        known[account.id] = point
        by_region[_region(row)].append(point)
        by_country[row["country"] or ""].append(point)
    everything = list(known.values()) or [(51.16, 10.45)]  # centre of Germany as a last resort
    book_centre = tuple(np.mean(np.array(everything), axis=0))
    estimated = 0
    for account in book.accounts:
        if account.id in known:
            continue
        row = rows[account.id]
        pool = by_region.get(_region(row)) or by_country.get(row["country"] or "") or everything
        known[account.id] = tuple(np.mean(np.array(pool), axis=0)) if pool else book_centre  # type: ignore[assignment]
        estimated += 1
    notes = [f"{estimated} accounts without coordinates placed at their postal region's centre"] if estimated else []
    return known, notes


def _region(row: dict[str, object]) -> tuple[str, str]:
    return (str(row["country"] or ""), str(row["postal_code"] or "")[:2])


def _plan_reps(
    book: Book,
    accounts: tuple[PlanAccount, ...],
    rule_config: rules.RulesConfig,
    overlay: dict[str, PlanRep],
) -> tuple[tuple[PlanRep, ...], list[str]]:
    owned: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for account in accounts:
        if account.owner_id:
            owned[account.owner_id].append((account.lat, account.lon))
    centre = np.median(np.array([(a.lat, a.lon) for a in accounts]), axis=0)
    capacity = rule_config.coverage.capacity_per_rep
    reps: list[PlanRep] = []
    estimated = 0
    for rep in book.reps:
        if rep.id in overlay:
            given = overlay[rep.id]
            reps.append(PlanRep(**{**given.__dict__, "active": given.active and rep.active}))
            continue
        points = owned.get(rep.id)
        home = np.median(np.array(points), axis=0) if points else centre
        estimated += 1
        reps.append(PlanRep(id=rep.id, name=rep.name, lat=float(home[0]), lon=float(home[1]),
                            capacity=capacity, active=rep.active))
    notes = []
    if estimated:
        notes.append(
            f"{estimated} reps without a home location in --reps: home estimated as the median "
            "location of their accounts (the book's median for reps without accounts)"
        )
    return tuple(sorted(reps, key=lambda r: r.id)), notes
