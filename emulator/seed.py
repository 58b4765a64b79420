"""Seed the emulator with realistic, messy B2B data, deterministically for a seed.

What a real, "historically grown" CRM looks like and the product must cope with:

- owners with teams and managers, **one inactive owner who still owns accounts**, **one new
  hire with no accounts**, and **one long-serving rep with about three times the mean book**
  (territory inheritance: the well-known named accounts sit with them, too);
- accounts owned mostly by contiguous postal-code ranges, with ~12% assigned against the
  geography, **~1% with no owner**, **a few % sharing a website domain under different
  owners** (duplicates and branch offices), **~2% without a postal code**, **~0.2% malformed**;
- heavy-tailed employees, revenue correlated with employees, parent companies for a few;
- open opportunities (some owned by another rep than the account owner, some overdue);
- modified times spread over the past year with **bulk-import ties** (batches of records that
  share the exact same ``modified_at``).

Seeding 100,000 accounts and 20,000 opportunities takes a few seconds.
"""

from __future__ import annotations

import gc
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate

from territory.emulator import _seed_words as words
from territory.emulator._seed_flaws import (
    DraftedAccounts,
    guarantee_minimums,
    plant_duplicates,
    plant_malformed,
    plant_parents,
    plant_ties,
)
from territory.emulator._seed_owners import OwnerRoles, assign_ownership, build_owners
from territory.emulator.cities import CITIES, City, city_by_name, vary_postal_code
from territory.emulator.state import CrmState, EmuAccount, EmuOpportunity

_MS_PER_DAY = 86_400_000
_YEAR_MS = 365 * _MS_PER_DAY
INTERNATIONAL_SHARE = 0.15  # of accounts outside Germany
INTERNATIONAL_COUNTRY_WEIGHTS = {
    "AT": 3.0, "CH": 3.0, "NL": 1.5, "BE": 1.0, "FR": 1.5, "GB": 1.5, "PL": 1.0, "CZ": 0.7,
    "DK": 0.5, "SE": 0.5, "IT": 1.0, "ES": 0.8, "US": 1.0,
}
_UNOWNED_SHARE = 0.01
_MISSING_POSTAL_SHARE = 0.02
_MISSING_GEO_SHARE = 0.02


@dataclass(frozen=True)
class SeedReport:
    """What :func:`seed_state` created, and where the planted messiness is."""

    owners: int
    accounts: int
    opportunities: int
    inactive_owner_n: int
    new_hire_n: int
    heavy_owner_n: int
    unowned_accounts: int
    duplicate_domain_accounts: int
    missing_postal_codes: int
    malformed_accounts: int
    parented_accounts: int
    tie_groups: int
    largest_tie: int
    seconds: float


def default_owner_count(accounts: int) -> int:
    """About one rep per 330 accounts, at least 8, at most 300 (the 100k benchmark size)."""
    return min(300, max(8, round(accounts / 330)))


def seed_state(
    state: CrmState,
    accounts: int = 1000,
    seed: int = 7,
    owners: int | None = None,
    opportunities: int | None = None,
    malformed: bool = True,
) -> SeedReport:
    """Fill ``state`` with owners, accounts and open opportunities.

    Args:
        state: The emulator state to fill (records are added after any already there).
        accounts: How many accounts (companies) to create.
        seed: Same seed, same data (names, ids, times, every planted flaw).
        owners: How many owners; default :func:`default_owner_count`.
        opportunities: How many open opportunities; default ``accounts // 5``.
        malformed: Plant the ~0.2% malformed accounts (employees "n/a": a sync stores them
            with employees empty and lists them as warnings); False gives the same data with
            every record well-formed.

    Returns:
        A :class:`SeedReport` with counts and the ids of the special owners.
    """
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    gc_was_enabled = gc.isenabled()
    gc.disable()  # hundreds of thousands of new objects, no cycles: skip the collector's rescans
    try:
        return _seed(state, accounts, seed, owners, opportunities, malformed)
    finally:
        if gc_was_enabled:
            gc.enable()


def _seed(
    state: CrmState, accounts: int, seed: int, owners: int | None, opportunities: int | None,
    malformed: bool,
) -> SeedReport:
    started = time.perf_counter()
    rng = random.Random(seed)
    now = state.now()
    owner_count = owners if owners is not None else default_owner_count(accounts)
    opp_count = opportunities if opportunities is not None else accounts // 5
    with state.lock:
        next_n = state._next_n
        owner_list, roles = build_owners(rng, max(owner_count, 4), next_n, now)
        next_n += len(owner_list)
        drafted = _AccountDrafter(rng, now, next_n).draft(accounts)
        next_n += len(drafted.accounts)
        assign_ownership(rng, owner_list, roles, drafted.accounts, drafted.named)
        plant_parents(rng, drafted)
        plant_duplicates(rng, drafted, roles)
        plant_malformed(rng, drafted)  # always drawn, so both settings give the same data
        guarantee_minimums(drafted, roles)
        if not malformed:
            for account in drafted.accounts:
                account.malformed = False
        plant_ties(rng, drafted.accounts, now)
        opps = _build_opportunities(rng, drafted, roles, opp_count, next_n, now)
        next_n += len(opps)
        plant_ties(rng, opps, now)
        for owner in owner_list:
            state.owners[owner.n] = owner
        for account in drafted.accounts:
            state.accounts[account.n] = account
        for opp in opps:
            state.opportunities[opp.n] = opp
        state._next_n = next_n
    return _report(owner_list, roles, drafted.accounts, opps, started)


def draft_account(rng: random.Random, n: int, now: datetime, used_domains: set[str]) -> EmuAccount:
    """One new account as a rep would enter it today (no owner yet; created = modified = now).

    ``used_domains`` keeps the new domain unique; it is updated in place.
    """
    drafter = _AccountDrafter(rng, now, n)
    city = rng.choices(CITIES, cum_weights=drafter.city_cum)[0]
    industry = rng.choices(drafter.industries, cum_weights=drafter.industry_cum)[0]
    account = drafter._account(n, city, industry, None)
    core, legal = drafter.company_name(city, industry)
    account.name = f"{core} {legal}".strip()
    account.domain = drafter.unique_domain(used_domains, core, city)
    account.created_at = account.modified_at = now
    return account


class _AccountDrafter:
    """Draws every account attribute from one ``random.Random`` in a fixed order."""

    def __init__(self, rng: random.Random, now: datetime, first_n: int) -> None:
        self.rng = rng
        self.now = now
        self.first_n = first_n
        self.city_cum = list(accumulate(_city_weights()))
        self.industries = list(words.INDUSTRY_WEIGHTS)
        self.industry_cum = list(accumulate(words.INDUSTRY_WEIGHTS.values()))
        self.legal_cum = {
            country: (tuple(f for f, _ in forms), list(accumulate(w for _, w in forms)))
            for country, forms in words.LEGAL_FORMS.items()
        }

    def draft(self, count: int) -> DraftedAccounts:
        out = DraftedAccounts()
        out.drafter = self
        named = words.NAMED_ACCOUNTS[: max(0, min(len(words.NAMED_ACCOUNTS), count // 50))]
        cities = self.rng.choices(CITIES, cum_weights=self.city_cum, k=count)
        industries = self.rng.choices(self.industries, cum_weights=self.industry_cum, k=count)
        for i in range(count):
            n = self.first_n + i
            if i < len(named):
                name, domain, city_name, industry, employees, _ = named[i]
                account = self._account(n, city_by_name(city_name), industry, employees)
                account.name, account.domain = name, domain
                out.used_domains.add(domain)
                out.named.append(i)
                out.cores.append(name)
                out.legal.append("")
            else:
                industry = industries[i] if self.rng.random() > 0.04 else None
                account = self._account(n, cities[i], industry, None)
                core, legal = self.company_name(cities[i], industries[i])
                account.name = f"{core} {legal}".strip()
                account.domain = self.unique_domain(out.used_domains, core, cities[i])
                out.cores.append(core)
                out.legal.append(legal)
            out.accounts.append(account)
        _link_named_parents(out)
        return out

    def _account(self, n: int, city: City, industry: str | None, employees: int | None) -> EmuAccount:
        rng = self.rng
        if employees is None and rng.random() > 0.03:
            employees = max(1, min(250_000, int(rng.lognormvariate(math.log(45), 1.45))))
        revenue = None
        if employees is not None and rng.random() > 0.06:
            revenue = round(employees * rng.lognormvariate(math.log(160_000), 0.5), -3)
        postal = vary_postal_code(city, rng) if rng.random() > _MISSING_POSTAL_SHARE else None
        lat = lon = None
        if rng.random() > _MISSING_GEO_SHARE:
            spread = min(0.12, 0.02 + 0.0015 * math.sqrt(city.population_k))
            lat = round(city.lat + rng.gauss(0, spread / 2), 6)
            lon = round(city.lon + rng.gauss(0, spread / 2) / math.cos(math.radians(city.lat)), 6)
        modified_age = rng.randrange(1000, _YEAR_MS)
        created_age = modified_age + rng.randrange(0, 5 * _YEAR_MS)
        return EmuAccount(
            n=n, name="", owner_n=None, city=city.name, postal_code=postal, country=city.country,
            lat=lat, lon=lon, industry=industry, employees=employees, annual_revenue=revenue,
            created_at=self.now - timedelta(milliseconds=created_age),
            modified_at=self.now - timedelta(milliseconds=modified_age),
        )

    def company_name(self, city: City, industry: str) -> tuple[str, str]:
        """An invented company name for ``city``'s country: (core, legal form)."""
        rng = self.rng
        german_words, english_words = words.INDUSTRY_WORDS[industry]
        forms, cum = self.legal_cum[city.country]
        legal = rng.choices(forms, cum_weights=cum)[0]
        invented = rng.choice(words.INVENTED_HEADS) + rng.choice(words.INVENTED_TAILS)
        roll = rng.random()
        if city.country in ("DE", "AT") or (city.country == "CH" and roll < 0.5):
            word = rng.choice(german_words)
            family = rng.choice(words.FAMILY_NAMES_DE if city.country == "DE"
                                else words.FAMILY_NAMES_INTL[city.country])
            if roll < 0.40:
                core = f"{family} {word}"
            elif roll < 0.65:
                core = f"{rng.choice(words.PLACE_STEMS)} {word}"
            elif roll < 0.80:
                core = invented
            elif roll < 0.87:
                core = f"{family} & {rng.choice(words.FAMILY_NAMES_DE)}"
            elif roll < 0.95:
                core = f"{invented} {word}"
            else:
                core = f"{word} {city.name.split(' ')[0]}"
        else:
            word = rng.choice(english_words)
            family = rng.choice(words.FAMILY_NAMES_INTL[city.country])
            core = f"{family} {word}" if roll < 0.45 else f"{invented} {word}" if roll < 0.8 else invented
        return core, legal

    def unique_domain(self, used: set[str], core: str, city: City) -> str | None:
        """A website domain for ``core`` that no other account has yet (~3% have none)."""
        if self.rng.random() < 0.03:
            return None
        tld = words.TLD[city.country] if self.rng.random() > 0.12 else "com"
        base = words.slug(core)
        for candidate in (base, f"{base}-{words.slug(city.name)}"):
            if f"{candidate}.{tld}" not in used:
                used.add(f"{candidate}.{tld}")
                return f"{candidate}.{tld}"
        k = 2
        while f"{base}{k}.{tld}" in used:
            k += 1
        used.add(f"{base}{k}.{tld}")
        return f"{base}{k}.{tld}"


def _city_weights() -> list[float]:
    """Weight per city in :data:`CITIES`: German cities by population; abroad, a country's
    share follows :data:`INTERNATIONAL_COUNTRY_WEIGHTS` (a DACH seller sells to AT/CH first),
    split over its cities by population. Abroad sums to :data:`INTERNATIONAL_SHARE`."""
    country_pop: dict[str, int] = {}
    for city in CITIES:
        country_pop[city.country] = country_pop.get(city.country, 0) + city.population_k
    de_total = country_pop["DE"]
    weight_total = sum(INTERNATIONAL_COUNTRY_WEIGHTS.values())
    abroad = de_total * INTERNATIONAL_SHARE / (1 - INTERNATIONAL_SHARE)
    weights = []
    for city in CITIES:
        if city.country == "DE":
            weights.append(float(city.population_k))
        else:
            share = INTERNATIONAL_COUNTRY_WEIGHTS.get(city.country, 0.0) / weight_total
            weights.append(abroad * share * city.population_k / country_pop[city.country])
    return weights


def _link_named_parents(out: DraftedAccounts) -> None:
    by_domain = {out.accounts[i].domain: out.accounts[i].n for i in out.named}
    for i, row in zip(out.named, words.NAMED_ACCOUNTS):
        parent_domain = row[5]
        if parent_domain is not None and parent_domain in by_domain:
            out.accounts[i].parent_n = by_domain[parent_domain]


def _build_opportunities(
    rng: random.Random,
    out: DraftedAccounts,
    roles: OwnerRoles,
    count: int,
    first_n: int,
    now: datetime,
) -> list[EmuOpportunity]:
    """Open opportunities on random accounts; ~15% owned by another rep than the account's."""
    if count <= 0 or not out.accounts:
        return []
    stages = [s for s, _ in words.OPEN_STAGES]
    stage_cum = list(accumulate(w for _, w in words.OPEN_STAGES))
    picks = rng.choices(range(len(out.accounts)), k=count)
    drawn_stages = rng.choices(stages, cum_weights=stage_cum, k=count)
    today = now.date()
    opps: list[EmuOpportunity] = []
    for k, i in enumerate(picks):
        account = out.accounts[i]
        owner = account.owner_n
        if owner is None or rng.random() < 0.15:
            owner = rng.choice(roles.assignable)
        amount = round(rng.lognormvariate(math.log(25_000), 1.1), -2) if rng.random() > 0.02 else None
        modified_age = rng.randrange(1000, _YEAR_MS)
        opps.append(EmuOpportunity(
            n=first_n + k,
            name=f"{out.cores[i]} – {rng.choice(words.OPPORTUNITY_TOPICS)}",
            account_n=account.n, owner_n=owner, amount=amount, stage=drawn_stages[k],
            close_date=today + timedelta(days=rng.randint(-60, 300)),
            created_at=now - timedelta(milliseconds=modified_age + rng.randrange(0, _YEAR_MS)),
            modified_at=now - timedelta(milliseconds=modified_age),
        ))
    return opps


def _report(
    owners: list, roles: OwnerRoles, accounts: list[EmuAccount], opps: list[EmuOpportunity],
    started: float,
) -> SeedReport:
    by_domain: dict[str, int] = {}
    by_stamp: dict[datetime, int] = {}
    for account in accounts:
        if account.domain:
            by_domain[account.domain] = by_domain.get(account.domain, 0) + 1
        by_stamp[account.modified_at] = by_stamp.get(account.modified_at, 0) + 1
    for opp in opps:
        by_stamp[opp.modified_at] = by_stamp.get(opp.modified_at, 0) + 1
    ties = [c for c in by_stamp.values() if c > 1]
    return SeedReport(
        owners=len(owners), accounts=len(accounts), opportunities=len(opps),
        inactive_owner_n=roles.inactive, new_hire_n=roles.new_hire, heavy_owner_n=roles.heavy,
        unowned_accounts=sum(1 for a in accounts if a.owner_n is None),
        duplicate_domain_accounts=sum(c for c in by_domain.values() if c > 1),
        missing_postal_codes=sum(1 for a in accounts if not a.postal_code),
        malformed_accounts=sum(1 for a in accounts if a.malformed),
        parented_accounts=sum(1 for a in accounts if a.parent_n is not None),
        tie_groups=len(ties), largest_tie=max(ties, default=0),
        seconds=round(time.perf_counter() - started, 3),
    )
