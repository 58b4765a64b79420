"""The planted flaws of a seeded CRM: subsidiaries, duplicates by domain, malformed records
and bulk-import ties on ``modified_at`` (private to :mod:`emulator.seed`)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, Protocol

from territory.emulator import _seed_words as words
from territory.emulator._seed_owners import OwnerRoles
from territory.emulator.cities import GERMAN_CITIES, City, city_by_name
from territory.emulator.state import EmuAccount

_DUPLICATE_SHARE = 0.03
_CHILD_SHARE = 0.02
_MALFORMED_SHARE = 0.002
_YEAR_MS = 365 * 86_400_000


class DomainMaker(Protocol):
    """What the flaws need from the seed's account drafter: fresh, unused domains."""

    def unique_domain(self, used: set[str], core: str, city: City) -> str | None: ...


class DraftedAccounts:
    """Accounts under construction plus the side tables the later steps need."""

    def __init__(self) -> None:
        self.accounts: list[EmuAccount] = []
        self.cores: list[str] = []  # name without legal form, for variants and subsidiaries
        self.legal: list[str] = []
        self.named: list[int] = []  # indices of the well-known named accounts
        self.used_domains: set[str] = set()
        self.drafter: DomainMaker | None = None



def plant_parents(rng: random.Random, out: DraftedAccounts) -> None:
    """Make ~2% of accounts subsidiaries of larger ones (renamed and re-domained to match)."""
    accounts = out.accounts
    named = set(out.named)
    big = [i for i, a in enumerate(accounts) if (a.employees or 0) >= 250 and i not in named]
    if not big or out.drafter is None:
        return
    groups = rng.sample(big, min(len(big), max(1, len(accounts) // 400)))
    taken = named | set(groups)
    candidates = [i for i in range(len(accounts)) if i not in taken]
    for i in rng.sample(candidates, min(len(candidates), round(len(accounts) * _CHILD_SHARE))):
        parent = rng.choice(groups)
        child = accounts[i]
        child.parent_n = accounts[parent].n
        core = f"{out.cores[parent]} {rng.choice(words.SUBSIDIARY_WORDS)}"
        out.cores[i] = core
        child.name = f"{core} {out.legal[i]}".strip()
        if child.domain is not None:
            city = city_by_name(child.city) if child.city else GERMAN_CITIES[0]
            child.domain = out.drafter.unique_domain(out.used_domains, core, city)


def plant_duplicates(rng: random.Random, out: DraftedAccounts, roles: OwnerRoles) -> None:
    """Give ~3% of accounts the domain of another account, under a different owner."""
    accounts = out.accounts
    count = max(1, round(len(accounts) * _DUPLICATE_SHARE))
    if len(accounts) < 4 or count == 0:
        return
    named = set(out.named)
    targets = rng.sample([i for i in range(len(accounts)) if i not in named], count)
    target_set = set(targets)
    sources = [i for i in range(len(accounts)) if i not in target_set and accounts[i].domain]
    for k, i in enumerate(targets):
        j = out.named[k] if k < len(out.named) // 4 else rng.choice(sources)
        dup, original = accounts[i], accounts[j]
        dup.domain = original.domain
        if rng.random() < 0.5:  # the same company entered twice; otherwise a branch office
            dup.city, dup.postal_code, dup.country = original.city, original.postal_code, original.country
            dup.lat, dup.lon = original.lat, original.lon
        branch = dup.city if dup.city != original.city else None
        dup.name = _name_variant(rng, out.cores[j], out.legal[j], branch)
        others = [o for o in roles.assignable if o != original.owner_n]
        if dup.owner_n is None or dup.owner_n == original.owner_n:
            dup.owner_n = rng.choice(others)


def _name_variant(rng: random.Random, core: str, legal: str, city: str | None) -> str:
    roll = rng.random()
    if roll < 0.3:
        return core
    if roll < 0.5:
        return f"{core} {legal}".strip().upper()
    if roll < 0.75 and city:
        return f"{core} {legal} - Niederlassung {city}".replace("  ", " ")
    return f"{core.translate(str.maketrans({'ä': 'ae', 'ö': 'oe', 'ü': 'ue', 'ß': 'ss'}))} {legal}".strip()


def plant_malformed(rng: random.Random, out: DraftedAccounts) -> None:
    named = set(out.named)
    pool = [i for i in range(len(out.accounts)) if i not in named]
    for i in rng.sample(pool, min(len(pool), max(1, round(len(out.accounts) * _MALFORMED_SHARE)))):
        out.accounts[i].malformed = True


def plant_ties(rng: random.Random, records: list[Any], now: datetime) -> int:
    """Bulk imports: batches of records that share one exact ``modified_at``. Returns batches."""
    if len(records) < 4:
        return 0
    largest = max(2, min(250, len(records) // 8))
    batches = max(2, len(records) // 1500)
    for _ in range(batches):
        size = rng.randint(max(2, largest // 10), largest)
        stamp = now - timedelta(milliseconds=rng.randrange(60_000, _YEAR_MS))
        for record in rng.sample(records, size):
            record.modified_at = stamp
            record.created_at = min(record.created_at, stamp)
    return batches


def guarantee_minimums(out: DraftedAccounts, roles: OwnerRoles) -> None:
    """Even a tiny seed has each flaw at least once: an account of the inactive owner, an
    unowned account and one without postal code (picked among plain, non-duplicate accounts)."""
    accounts = out.accounts
    domains: dict[str | None, int] = {}
    for account in accounts:
        domains[account.domain] = domains.get(account.domain, 0) + 1
    named = set(out.named)
    plain = [a for i, a in enumerate(accounts)
             if i not in named and domains[a.domain] == 1 and a.domain is not None and not a.malformed]
    if len(plain) < 3:
        return
    if not any(a.owner_n == roles.inactive for a in accounts):
        plain[0].owner_n = roles.inactive
    if not any(a.owner_n is None for a in accounts):
        plain[1].owner_n = None
    if all(a.postal_code for a in accounts):
        plain[2].postal_code = None

