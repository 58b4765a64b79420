"""Build a planner instance from the synced store, and keep plans as named scenarios.

Potential and workload come from the rules module's coverage math (``rules.coverage``, the
one definition shared with reports): potential by the rules file's formula, ABC tier by
cumulative potential, workload = touches per quarter of the tier. With grandfathering on,
accounts with an open opportunity are locked to their owner, and so are named accounts that
are already with their named owner.

The CRM holds no home address for reps, so a rep's home is taken from an optional homes file
(``id,lat,lon`` plus any other reps.csv column: name, capacity, active, industries,
target_weight, mode; ``planner.csv_io.read_rep_overrides``) or else estimated as the median
location of the accounts the rep owns today; reps without accounts start at the median of the
whole book. Ids in the homes file that are not synced reps are named in the notes. Accounts without coordinates take the mean location of accounts
sharing their country and first two postal digits (else their country, else the book). Every
such estimate is counted in the notes so the user sees what the plan stands on.

With ``include_prospects`` the whitespace of the market sources (unmatched prospects, see
``sync.whitespace``) joins the instance as unowned accounts: potential by the rules'
formula, workload by their coverage tier, located at their postal region's centre. Placing
one is not a move; ``StoreInstance.prospects`` tells them apart by their planner id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from territory import rules
from territory.planner.csv_io import RepOverride
from territory.planner.instance import VISIT_MODES, Instance, PlanAccount, PlanRep
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
    overlay: Mapping[str, RepOverride] | None = None,
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
    rows = {r["id"]: r for r in store.iter_records("accounts", crm=crm)}
    points, notes = _account_points(rows, book)
    modes, mode_notes = _visit_modes(rows, rule_config.coverage.visit_mode_field)
    notes.extend(mode_notes)
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
            postal_code=str(rows[a.id]["postal_code"] or "") or None,
            visit_mode=modes.get(a.id, "field"),
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


def _visit_modes(rows: dict[str, dict[str, Any]], crm_field: str | None) -> tuple[dict[str, str], list[str]]:
    """Visit mode per account id from the synced CRM values (field, remote, hybrid; anything
    else counts as field and is counted in a note). A configured ``crm_field`` without any
    synced value most likely means the store was synced before the field was named."""
    modes: dict[str, str] = {}
    unknown: dict[str, int] = defaultdict(int)
    for account_id, row in rows.items():
        value = str(row.get("visit_mode") or "").strip().lower()
        if value in VISIT_MODES:
            modes[account_id] = value
        elif value:
            unknown[value] += 1
    if crm_field and not modes and not unknown:
        return modes, [f"coverage.visit_mode_field is {crm_field!r} but no synced account has a value: "
                       "run `territory sync --full` once to read it (until then every account is a field account)"]
    if not unknown:
        return modes, []
    listed = ", ".join(f"{value!r} ({count})" for value, count in sorted(unknown.items())[:5])
    return modes, [f"{sum(unknown.values())} accounts have a visit mode other than {', '.join(VISIT_MODES)} "
                   f"in the CRM ({listed}): planned as field accounts"]


def _locked_ids(book: Book, evaluation: rules.Evaluation, rule_config: rules.RulesConfig) -> set[str]:
    locked: set[str] = set()
    if rule_config.grandfather_open_opportunities:
        owners = {a.id: a.owner_id for a in book.accounts}
        locked |= {o.account_id for o in book.opportunities if owners.get(o.account_id)}
    for decision in evaluation.decisions():
        if decision.status == rules.Status.NAMED:
            locked.add(decision.account_id)
    return locked


def _account_points(
    rows: dict[str, dict[str, Any]], book: Book
) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """Coordinates per account id, estimating the missing ones from their neighbours."""
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
    overlay: Mapping[str, RepOverride],
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
        points = owned.get(rep.id)
        home = np.median(np.array(points), axis=0) if points else centre
        synced = PlanRep(id=rep.id, name=rep.name, lat=float(home[0]), lon=float(home[1]),
                         capacity=capacity, active=rep.active)
        given = overlay.get(rep.id)
        if given is None or "lat" not in given.values:
            estimated += 1
        if given is not None:
            # a departed rep stays departed whatever the file says
            values = {**given.values, "active": bool(given.values.get("active", True)) and rep.active}
            synced = replace(synced, **values)  # type: ignore[arg-type]
        reps.append(synced)
    notes = []
    if estimated:
        notes.append(
            f"{estimated} reps without a home location in --reps: home estimated as the median "
            "location of their accounts (the book's median for reps without accounts)"
        )
    synced_ids = {rep.id for rep in book.reps}
    unknown = sorted((o for o in overlay.values() if o.rep_id not in synced_ids), key=lambda o: o.line)
    if unknown:
        listed = ", ".join(f"{o.rep_id} (line {o.line})" for o in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        notes.append(f"{len(unknown)} rep ids in --reps are not synced reps and were ignored: {listed}{more}; "
                     "check the ids against `territory export owners`")
    return tuple(sorted(reps, key=lambda r: r.id)), notes
