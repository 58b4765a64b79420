"""Draft a first rules file from the synced book: a starting point an admin then edits.

German accounts are grouped by the first postal digit (the "Leitregion"); each region becomes
a territory owned by the active rep who owns most accounts there today, so the draft encodes
today's geography and the first check shows where the book departs from it. Other countries
are grouped by their majority owner into one territory per owner. Up to five domains shared
by several accounts are suggested as named accounts of their majority owner. Capacity is set so that the book's workload fits
with 30% headroom, and potential is capped at the book's 99th percentile so that a few giant
accounts cannot make balance impossible; admins should put their real numbers in.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import yaml

from territory import rules
from territory.sync.book import Book, load_book
from territory.sync.store import Store

HEADROOM = 1.3
CAP_PERCENTILE = 99.0


@dataclass(frozen=True)
class DraftTerritory:
    id: str
    owner: str
    countries: tuple[str, ...]
    postal_prefixes: tuple[str, ...]


def _majority_owner(counter: Counter[str], active: set[str]) -> str | None:
    ranked = sorted(((-n, rep) for rep, n in counter.items() if rep in active))
    return ranked[0][1] if ranked else None


def draft_territories(book: Book) -> list[DraftTerritory]:
    """One territory per German postal region, by majority owner; abroad, one per owner."""
    active = {rep.id for rep in book.reps if rep.active}
    by_region: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for account in book.accounts:
        country = (account.country or "").upper()
        if not country:
            continue
        prefix = (account.postal_code or "")[:1] if country == "DE" else ""
        if country == "DE" and not prefix.isdigit():
            continue
        by_region[(country, prefix)][account.owner_id or ""] += 1
    drafts = []
    abroad: dict[str, list[str]] = defaultdict(list)
    for (country, prefix), owners in sorted(by_region.items()):
        owner = _majority_owner(owners, active)
        if owner is None:
            continue
        if prefix:
            drafts.append(DraftTerritory(f"{country}-{prefix}", owner, (country,), (prefix,)))
        else:
            abroad[owner].append(country)
    for owner, countries in sorted(abroad.items(), key=lambda kv: kv[1]):
        drafts.append(DraftTerritory("-".join(countries[:3]) + ("-MORE" if len(countries) > 3 else ""), owner, tuple(countries), ()))
    return drafts


def draft_rules_yaml(store: Store, crm: str) -> str:
    """A validated rules file (YAML text) drafted from ``crm``'s synced book."""
    book = load_book(store, crm)
    if not book.accounts:
        raise ValueError("the store holds no accounts: run `territory sync` first")
    territories = []
    for draft in draft_territories(book):
        match: dict[str, object] = {"country": list(draft.countries)}
        if draft.postal_prefixes:
            match["postal_code"] = list(draft.postal_prefixes)
        territories.append({"id": draft.id, "owner": draft.owner, "match": match})
    document: dict[str, object] = {
        "version": 1,
        "territories": territories,
        "named_accounts": _named_suggestions(book),
        "tiebreakers": list(rules.DEFAULT_TIEBREAKERS),
        "grandfather_open_opportunities": True,
        "auto_assign": False,
    }
    config = rules.parse_rules(yaml.safe_dump(document, sort_keys=False), "draft")
    potential = _evaluate(book, config).facts.potential
    cap = _round_up(float(np.percentile(potential, CAP_PERCENTILE))) if len(potential) else None
    document["coverage"] = {"potential": {"method": "annual_revenue", "cap": cap} if cap else {}}
    config = rules.parse_rules(yaml.safe_dump(document, sort_keys=False), "draft")
    document["coverage"]["capacity_per_rep"] = _capacity(book, config)
    header = (
        "# Drafted by territory-agent from the synced book: today's geography per postal region.\n"
        "# Edit owners, add verticals, named accounts and channels; see docs/rules.md.\n"
    )
    text = header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
    rules.parse_rules(text, "draft")  # the draft must always validate
    return text


def _named_suggestions(book: Book) -> list[dict[str, str]]:
    """Domains with several accounts, kept with the rep who owns most of them (max 5)."""
    active = {rep.id for rep in book.reps if rep.active}
    owners_by_domain: dict[str, Counter[str]] = defaultdict(Counter)
    for account in book.accounts:
        if account.domain and account.owner_id:
            owners_by_domain[account.domain][account.owner_id] += 1
    named = []
    for domain, owners in sorted(owners_by_domain.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
        owner = _majority_owner(owners, active)
        if owner and sum(owners.values()) > 1:
            named.append({"domain": domain, "owner": owner, "reason": "Key account (drafted)"})
        if len(named) == 5:
            break
    return named


def _evaluate(book: Book, config: rules.RulesConfig) -> rules.Evaluation:
    return rules.evaluate(book.accounts, config, reps=book.reps, opportunities=book.opportunities)


def _round_up(value: float) -> float:
    """Round up to two significant digits (a cap people can read)."""
    if value <= 0:
        return 1.0
    step = 10 ** (math.floor(math.log10(value)) - 1)
    return float(math.ceil(value / step) * step)


def _capacity(book: Book, config: rules.RulesConfig) -> int:
    evaluation = _evaluate(book, config)
    active = max(1, sum(1 for rep in book.reps if rep.active))
    needed = float(sum(evaluation.facts.workload)) / active * HEADROOM
    return int(math.ceil(needed / 50.0) * 50)
