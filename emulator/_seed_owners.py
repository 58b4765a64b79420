"""Owners (sales reps) for the seeder, and how accounts came to be theirs.

Ownership is "historically grown": German accounts are cut into contiguous postal-code ranges,
one per rep (the long-serving "heavy" rep's range is about three times the mean book),
international accounts go to the International team the same way, then ~12% are reassigned
against the geography and ~1% lose their owner. Teams follow the postal zone of a rep's range.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from territory.emulator import _seed_words as words
from territory.emulator.state import EmuAccount, EmuOwner

OWNER_EMAIL_DOMAIN = "territory-sandbox.example"
_AGAINST_GEOGRAPHY = 0.12
_UNOWNED = 0.01
_HEAVY_MULTIPLE = 3.0


@dataclass
class OwnerRoles:
    """Owner numbers (``n``) with a planted role."""

    new_hire: int
    inactive: int
    heavy: int
    german: list[int] = field(default_factory=list)
    international: list[int] = field(default_factory=list)

    @property
    def assignable(self) -> list[int]:
        """Everyone who may own accounts (all but the new hire)."""
        return self.german + self.international


def build_owners(
    rng: random.Random, count: int, first_n: int, now: datetime
) -> tuple[list[EmuOwner], OwnerRoles]:
    """``count`` owners numbered from ``first_n``; the last one is the new hire."""
    owners: list[EmuOwner] = []
    used_emails: set[str] = set()
    international_count = max(1, round((count - 1) * 0.12))
    german_count = count - 1 - international_count
    provisioned = now - timedelta(days=3 * 365, hours=7)  # the initial SSO bulk provisioning
    for k in range(count):
        international = german_count <= k < count - 1
        first = rng.choice(words.FIRST_NAMES_INTL if international else words.FIRST_NAMES_DE)
        country = rng.choice(list(words.FAMILY_NAMES_INTL)) if international else "DE"
        last = rng.choice(words.FAMILY_NAMES_INTL[country] if international else words.FAMILY_NAMES_DE)
        local = words.email_local_part(first, last)
        email, suffix = f"{local}@{OWNER_EMAIL_DOMAIN}", 2
        while email in used_emails:
            email, suffix = f"{local}{suffix}@{OWNER_EMAIL_DOMAIN}", suffix + 1
        used_emails.add(email)
        stamp = provisioned if rng.random() < 0.6 else now - timedelta(
            milliseconds=rng.randrange(86_400_000, 3 * 365 * 86_400_000))
        owners.append(EmuOwner(
            n=first_n + k, first_name=first, last_name=last, email=email,
            created_at=stamp, modified_at=stamp,
        ))
    german = [o.n for o in owners[:german_count]]
    heavy = rng.choice(german)
    inactive = rng.choice([n for n in german if n != heavy])
    roles = OwnerRoles(
        new_hire=owners[-1].n, inactive=inactive, heavy=heavy, german=german,
        international=[o.n for o in owners[german_count:-1]],
    )
    by_n = {o.n: o for o in owners}
    by_n[inactive].is_active = False
    by_n[inactive].modified_at = now - timedelta(days=61, hours=3)  # left two months ago
    hired = now - timedelta(days=12, hours=2)
    by_n[roles.new_hire].created_at = by_n[roles.new_hire].modified_at = hired
    return owners, roles


def assign_ownership(
    rng: random.Random,
    owners: list[EmuOwner],
    roles: OwnerRoles,
    accounts: list[EmuAccount],
    named: list[int],
) -> None:
    """Set ``owner_n`` on every account and teams/managers on every owner (see module doc)."""
    german_idx = [i for i, a in enumerate(accounts) if a.country == "DE"]
    intl_idx = [i for i, a in enumerate(accounts) if a.country != "DE"]
    german_share = len(german_idx) / len(accounts)
    order = list(roles.german)
    rng.shuffle(order)
    weights = {n: rng.uniform(0.6, 1.4) for n in order}
    weights[roles.heavy] = _heavy_weight(weights, roles, german_share)
    first_key = _cut_ranges(accounts, german_idx, order, weights)
    intl_weights = {n: rng.uniform(0.6, 1.4) for n in roles.international}
    _cut_ranges(accounts, intl_idx, roles.international, intl_weights)
    assignable = roles.assignable
    for account in accounts:
        roll = rng.random()
        if roll < _UNOWNED:
            account.owner_n = None
        elif roll < _UNOWNED + _AGAINST_GEOGRAPHY or account.owner_n is None:
            account.owner_n = rng.choice(assignable)
    for i in named:  # the lucrative named accounts stayed with the long-serving rep
        accounts[i].owner_n = roles.heavy
    _assign_teams(owners, roles, first_key)


def _heavy_weight(weights: dict[int, float], roles: OwnerRoles, german_share: float) -> float:
    """Range weight that gives the heavy rep about ``_HEAVY_MULTIPLE`` × the mean book.

    share = german_share × (1 − u − g) × w / (S + w) + g / A, solved for w.
    """
    reps = len(roles.assignable)
    others = sum(v for n, v in weights.items() if n != roles.heavy)
    target = (_HEAVY_MULTIPLE - _AGAINST_GEOGRAPHY) / reps
    x = target / max(1e-9, german_share * (1 - _UNOWNED - _AGAINST_GEOGRAPHY))
    x = min(x, 0.9)
    return x * others / (1 - x)


def _cut_ranges(
    accounts: list[EmuAccount], indices: list[int], order: list[int], weights: dict[int, float]
) -> dict[int, str]:
    """Give each rep in ``order`` a contiguous postal range sized by weight; returns first keys."""
    if not order or not indices:
        return {}

    def key(i: int) -> str:
        a = accounts[i]
        return f"{a.country}{a.postal_code or ''}{a.city}"

    ranked = sorted(indices, key=key)
    total = sum(weights[n] for n in order)
    first_key: dict[int, str] = {}
    start, running = 0, 0.0
    for n in order:
        running += weights[n]
        end = round(len(ranked) * running / total)
        for i in ranked[start:end]:
            accounts[i].owner_n = n
        if start < len(ranked):
            first_key[n] = accounts[ranked[start]].postal_code or "0"
        start = end
    return first_key


def _assign_teams(owners: list[EmuOwner], roles: OwnerRoles, first_key: dict[int, str]) -> None:
    by_n = {o.n: o for o in owners}
    leads: dict[str, int] = {}
    for n in roles.german:
        team = words.TEAMS_BY_ZONE.get(first_key.get(n, "0")[:1], "DACH Mitte")
        by_n[n].teams = [team]
    for n in roles.international:
        by_n[n].teams = [words.INTERNATIONAL_TEAM]
    for owner in owners:  # the first active, ordinary rep of each team leads it
        if owner.teams and owner.is_active and owner.n != roles.heavy:
            leads.setdefault(owner.teams[0], owner.n)
    for owner in owners:
        if owner.teams and leads.get(owner.teams[0]) != owner.n:
            owner.manager_n = leads.get(owner.teams[0])
    by_n[roles.heavy].teams.append("Key Accounts")
    hire = by_n[roles.new_hire]
    hire.teams = list(by_n[roles.german[0]].teams[:1])
    hire.manager_n = leads.get(hire.teams[0]) if hire.teams else None
