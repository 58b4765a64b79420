"""Draft a first rules file from the synced book: a starting point an admin then edits.

The draft describes the book as it is (:mod:`sync.draft_regions`): every active rep who owns
accounts gets one territory per country with the postal prefixes (or ranges) where they own
most accounts, and the accounts they own elsewhere become their named accounts. On the book it
was drafted from, only genuine conflicts remain: duplicates by domain, unowned accounts,
inactive owners, missing data. :func:`draft_rules` says how many and why.

Up to five domains shared by several accounts are suggested as named accounts of their
majority owner. Capacity is set so that the book's workload fits with 30% headroom, and
potential is capped at the book's 99th percentile so that a few giant accounts cannot make
balance impossible; admins should put their real numbers in.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import yaml

from territory import rules
from territory.sync.book import Book, load_book
from territory.sync.draft_regions import RegionDraft, draft_regions
from territory.sync.store import Store

HEADROOM = 1.3
CAP_PERCENTILE = 99.0
NOT_GENUINE = "owner differs from the drafted rules"
HEADER = (
    "# Drafted by territory-agent from the synced book: who owns what today, per postal region,\n"
    "# and the accounts reps own outside their regions as named accounts ('drafted'): named\n"
    "# accounts are locked in `territory plan`; delete those the planner may move.\n"
    "# Edit owners, add verticals and channels; see docs/rules.md.\n"
)


@dataclass(frozen=True)
class RulesDraft:
    """A drafted rules file and what it leaves in conflict on the book it came from."""

    text: str
    accounts: int
    territories: int
    named_accounts: int
    outside_regions: int  # named accounts that keep an account with its owner outside their regions
    active_owning_reps: int
    reps_with_rules: int
    conflict_causes: dict[str, int]  # cause -> accounts, largest first

    @property
    def conflicts(self) -> int:
        return sum(self.conflict_causes.values())

    @property
    def conflict_share(self) -> float:
        return self.conflicts / self.accounts if self.accounts else 0.0


def _majority_owner(counter: Counter[str], active: set[str]) -> str | None:
    ranked = sorted(((-n, rep) for rep, n in counter.items() if rep in active))
    return ranked[0][1] if ranked else None


def _territories(book: Book, regions: RegionDraft) -> list[dict[str, object]]:
    """One territory per owner and country with postal regions, plus one per owner for the
    countries they hold whole."""
    names = {rep.id: rep.name for rep in book.reps}
    whole: dict[str, list[str]] = defaultdict(list)
    territories: list[dict[str, object]] = []
    for (owner, country), prefixes in regions.regions.items():
        if "" in prefixes:
            whole[owner].append(country)
        else:
            territories.append(_territory(f"{country}-{owner}", owner, names.get(owner), [country], prefixes))
    for owner, countries in sorted(whole.items()):
        territory_id = f"{countries[0]}-{owner}" if len(countries) == 1 else f"COUNTRIES-{owner}"
        territories.append(_territory(territory_id, owner, names.get(owner), countries, None))
    return territories


def _territory(territory_id: str, owner: str, name: str | None, countries: list[str],
               prefixes: list[str] | None) -> dict[str, object]:
    territory: dict[str, object] = {"id": territory_id, "owner": owner}
    if name:
        territory["name"] = f"{name} ({', '.join(countries)})"
    match: dict[str, object] = {"country": countries}
    if prefixes is not None:
        match["postal_code"] = prefixes
    territory["match"] = match
    return territory


def draft_rules_yaml(store: Store, crm: str) -> str:
    """A validated rules file (YAML text) drafted from ``crm``'s synced book."""
    return draft_rules(store, crm).text


def draft_rules(store: Store, crm: str) -> RulesDraft:
    """Draft a rules file from ``crm``'s synced book and measure what it leaves in conflict.

    Raises:
        ValueError: the store holds no accounts of ``crm``.
    """
    book = load_book(store, crm)
    if not book.accounts:
        raise ValueError("the store holds no accounts: run `territory sync` first")
    return draft_from_book(book)


def draft_from_book(book: Book) -> RulesDraft:
    """Draft a rules file from ``book`` (with at least one account); see :func:`draft_rules`."""
    active = {rep.id for rep in book.reps if rep.active}
    regions = draft_regions(book.accounts, active)
    named = [{"account": account_id, "owner": owner, "reason": "Owned outside the owner's regions (drafted)"}
             for account_id, owner in sorted(regions.exceptions.items())]
    document: dict[str, object] = {
        "version": 1,
        "territories": _territories(book, regions),
        "named_accounts": _named_suggestions(book) + named,
        "tiebreakers": list(rules.DEFAULT_TIEBREAKERS),
        "grandfather_open_opportunities": True,
        "auto_assign": False,
    }
    config = rules.parse_rules(yaml.safe_dump(document, sort_keys=False), "draft")
    potential = _evaluate(book, config).facts.potential
    cap = _round_up(float(np.percentile(potential, CAP_PERCENTILE))) if len(potential) else None
    document["coverage"] = {"potential": {"method": "annual_revenue", "cap": cap} if cap else {}}
    config = rules.parse_rules(yaml.safe_dump(document, sort_keys=False), "draft")
    document["coverage"]["capacity_per_rep"] = _capacity(book, config)  # type: ignore[index]
    text = HEADER + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
    config = rules.parse_rules(text, "draft")  # the draft must always validate
    owning = {a.owner_id for a in book.accounts if a.owner_id in active}
    with_rules = {t.owner for t in config.territories} | {n.owner for n in config.named_accounts}
    return RulesDraft(
        text=text, accounts=len(book.accounts), territories=len(config.territories),
        named_accounts=len(config.named_accounts), outside_regions=len(regions.exceptions),
        active_owning_reps=len(owning),
        reps_with_rules=len(owning & with_rules),
        conflict_causes=conflict_causes(book.accounts, _evaluate(book, config).decisions()),
    )


def conflict_causes(accounts: list[rules.Account], decisions: Iterable[rules.Decision]) -> dict[str, int]:
    """Conflicts counted by cause, largest first; :data:`NOT_GENUINE` is the rules' own doing."""
    by_id = {account.id: account for account in accounts}
    causes: Counter[str] = Counter()
    for decision in decisions:
        if decision.status in rules.CONFLICT_STATUSES:
            causes[_cause(decision, by_id[decision.account_id])] += 1
    return dict(sorted(causes.items(), key=lambda kv: (-kv[1], kv[0])))


def _cause(decision: rules.Decision, account: rules.Account) -> str:
    status = decision.status
    if status is rules.Status.INACTIVE_OWNER:
        return "inactive owner"
    if status is rules.Status.DUPLICATE:
        return "duplicate by domain"
    if status is rules.Status.PARTNER_CONFLICT:
        return "partner/channel conflict"
    if status is rules.Status.UNASSIGNED or decision.current_owner_id is None:
        return "unowned"
    if not account.country or not account.postal_code:
        return "missing country or postal code"
    return NOT_GENUINE


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
