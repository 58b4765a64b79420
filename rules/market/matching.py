"""Match prospects to CRM accounts in stages: domain, name + postal code/city, fuzzy name.

Stages, first hit wins (each prospect matches at most one account):

1. ``domain``: the same registrable domain (``normalize.registrable_domain``). Score 0.9
   plus up to 0.1 for name similarity, so a shared domain under a very different name shows
   up in ``market review``.
2. ``name_postal``: the same normalised name and the same postal code (score 0.97) or, when
   a postal code differs or is missing, the same city (0.93: a company that moved within
   its town).
3. ``fuzzy``: names compared with RapidFuzz (``ratio``: word order counts, ``Braun &
   Schulz`` is not ``Schulz & Braun``) only against accounts in the same postal area (first
   two characters of the postal code) or, without a postal code, the same city: blocking
   keeps 100k x 100k to a few million comparisons. A pair needs :data:`FUZZY_CUTOFF`, no two
   different websites, and words that agree (:func:`tokens_agree`); the score is the
   similarity scaled to at most 0.9 with a small bonus for the same postal code.

Countries must agree when both sides have one. When several accounts qualify in one stage
(CRM duplicates sharing a domain or a name), :func:`choose_account` picks one by the
caller's ``preference`` (the rules' tiebreakers turned into a sort key) with the account at
the prospect's address inserted where ``billing_territory`` stands, then name similarity,
then the lowest id; the others are reported as alternatives (``ambiguous``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from territory.rules.market.normalize import (
    normalize_city,
    normalize_company_name,
    normalize_country,
    normalize_postal,
    postal_area,
    registrable_domain,
)

METHODS = ("domain", "name_postal", "fuzzy", "none")
FUZZY_CUTOFF = 88.0
AMBIGUITY_MARGIN = 3.0  # fuzzy: a runner-up this close to the best makes the match doubtful
TOKEN_AGREEMENT = 0.75  # fuzzy: every word of the shorter name needs a partner this similar


@dataclass(frozen=True)
class Party:
    """One side's record as the matcher needs it (a prospect or a CRM account).

    Attributes:
        key: Prospect key or account id.
        name: Company name as written.
        preference: Accounts only: smaller sorts first among duplicates (rules' tiebreakers).
    """

    key: str
    name: str
    domain: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    preference: tuple[float, ...] = ()


@dataclass(frozen=True)
class Match:
    """The outcome for one prospect (``account_id`` None and method ``none`` when unmatched)."""

    prospect_key: str
    account_id: str | None
    score: float
    method: str
    alternatives: tuple[str, ...] = ()


@dataclass
class _Normal:
    key: str
    name: str
    domain: str
    postal: str
    area: str
    city: str
    country: str
    preference: tuple[float, ...] = ()

    @classmethod
    def of(cls, party: Party) -> _Normal:
        postal = normalize_postal(party.postal_code)
        return cls(party.key, normalize_company_name(party.name), registrable_domain(party.domain),
                   postal, postal_area(postal), normalize_city(party.city),
                   normalize_country(party.country), party.preference)


@dataclass
class _Book:
    """CRM accounts normalised and indexed by domain, name, postal area and city."""

    accounts: list[_Normal]
    by_domain: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_area: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_city: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    vocabulary: frozenset[str] = frozenset()

    @classmethod
    def build(cls, accounts: Iterable[Party]) -> _Book:
        book = cls([_Normal.of(a) for a in accounts])
        for i, a in enumerate(book.accounts):
            if a.domain:
                book.by_domain[a.domain].append(i)
            if a.name:
                book.by_name[a.name].append(i)
            if a.area:
                book.by_area[a.area].append(i)
            if a.city:
                book.by_city[a.city].append(i)
        book.vocabulary = frozenset(word for a in book.accounts for word in a.name.split())
        return book


def _same_country(p: _Normal, a: _Normal) -> bool:
    return not p.country or not a.country or p.country == a.country


def _address_rank(p: _Normal, a: _Normal) -> int:
    """0 same postal code, 1 same city, 2 elsewhere."""
    if p.postal and p.postal == a.postal:
        return 0
    return 1 if p.city and p.city == a.city else 2


def choose_account(p: _Normal, candidates: Sequence[_Normal], address_at: int) -> _Normal:
    """The candidate the rules prefer (see the module docstring)."""

    def key(a: _Normal) -> tuple[object, ...]:
        pref = a.preference
        ranked = (*pref[:address_at], _address_rank(p, a), *pref[address_at:])
        return (ranked, -fuzz.token_sort_ratio(p.name, a.name), a.key)

    return min(candidates, key=key)


def match_prospects(
    prospects: Sequence[Party],
    accounts: Iterable[Party],
    *,
    rejected: Iterable[tuple[str, str]] = (),
    address_at: int = 0,
    cutoff: float = FUZZY_CUTOFF,
) -> list[Match]:
    """Match every prospect (in input order) to at most one account.

    Args:
        prospects: The prospect list.
        accounts: The CRM book; ``preference`` orders duplicates.
        rejected: (prospect key, account id) pairs a user rejected: never proposed again.
        address_at: Where the address closeness goes in ``preference`` (billing_territory).
        cutoff: Least fuzzy similarity (0..100) for the fuzzy stage.
    """
    book = _Book.build(accounts)
    banned: dict[str, set[str]] = defaultdict(set)
    for prospect_key, account_id in rejected:
        banned[prospect_key].add(account_id)
    normal = [_Normal.of(p) for p in prospects]
    results: list[Match | None] = [None] * len(normal)
    pending: list[int] = []
    for i, p in enumerate(normal):
        results[i] = _exact_stages(p, book, banned.get(p.key, set()), address_at)
        if results[i] is None:
            pending.append(i)
    for i, found in _fuzzy_stage([normal[i] for i in pending], book, banned, cutoff).items():
        results[pending[i]] = found
    return [r if r is not None else Match(normal[i].key, None, 0.0, "none") for i, r in enumerate(results)]


def _exact_stages(p: _Normal, book: _Book, banned: set[str], address_at: int) -> Match | None:
    accounts = book.accounts
    if p.domain:
        hits = [accounts[j] for j in book.by_domain.get(p.domain, ()) if accounts[j].key not in banned]
        hits = [a for a in hits if _same_country(p, a)] or hits
        if hits:
            best = choose_account(p, hits, address_at)
            similarity = fuzz.token_sort_ratio(p.name, best.name) / 100.0
            return _found(p, best, hits, round(0.9 + 0.1 * similarity, 4), "domain")
    if p.name:
        named = [accounts[j] for j in book.by_name.get(p.name, ())]
        hits = [a for a in named if a.key not in banned and _same_country(p, a) and _address_rank(p, a) < 2]
        if hits:
            best = choose_account(p, hits, address_at)
            score = 0.97 if _address_rank(p, best) == 0 else 0.93
            return _found(p, best, hits, score, "name_postal")
    return None


def _found(p: _Normal, best: _Normal, hits: Sequence[_Normal], score: float, method: str) -> Match:
    others = tuple(sorted({a.key for a in hits} - {best.key}))
    return Match(p.key, best.key, score, method, others)


def _fuzzy_stage(pending: list[_Normal], book: _Book, banned: dict[str, set[str]], cutoff: float) -> dict[int, Match]:
    """Fuzzy name matches within each postal area (or city); keys index ``pending``."""
    blocks: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, p in enumerate(pending):
        if p.name:
            blocks[("area", p.area) if p.area else ("city", p.city)].append(i)
    found: dict[int, Match] = {}
    for (kind, value), members in blocks.items():
        if not value:
            continue
        index = book.by_area if kind == "area" else book.by_city
        choices = index.get(value, [])
        if not choices:
            continue
        names = [book.accounts[j].name for j in choices]
        queries = [pending[i].name for i in members]
        scores = process.cdist(queries, names, scorer=fuzz.ratio, score_cutoff=cutoff, workers=1)
        for row, i in enumerate(members):
            match = _best_fuzzy(pending[i], [book.accounts[j] for j in choices], scores[row],
                                banned.get(pending[i].key, set()), book.vocabulary)
            if match is not None:
                found[i] = match
    return found


def tokens_agree(prospect: str, account: str, vocabulary: frozenset[str] = frozenset()) -> bool:
    """Whether two names that score high as strings may still be one company.

    Every word of the shorter name needs a partner in the other at most about one edit away
    (optimal string alignment, so swapped letters are one edit): ``stern bau`` and ``ostsee
    bau`` share a long word, yet are two companies. And a prospect word that differs from its
    partner must not itself be a word of the CRM's names (``vocabulary``): ``schulz`` next to
    ``schulze`` is another family, a typo (``schluze``) is not a word anyone else uses.
    """
    left, right = prospect.split(), account.split()
    for word in left if len(left) <= len(right) else right:
        others = right if len(left) <= len(right) else left
        partner = max(others, key=lambda other: OSA.normalized_similarity(word, other))
        if OSA.normalized_similarity(word, partner) < TOKEN_AGREEMENT:
            return False
        if word != partner and (word if others is right else partner) in vocabulary:
            return False
    return True


def _plausible(p: _Normal, a: _Normal, vocabulary: frozenset[str]) -> bool:
    """Same country, agreeing words, and not two different websites."""
    if p.domain and a.domain and p.domain != a.domain:
        return False
    return _same_country(p, a) and tokens_agree(p.name, a.name, vocabulary)


def _best_fuzzy(p: _Normal, choices: list[_Normal], row: Sequence[float], banned: set[str], vocabulary: frozenset[str]) -> Match | None:
    ranked = sorted(
        ((float(s), a) for s, a in zip(row, choices) if s > 0 and a.key not in banned and _plausible(p, a, vocabulary)),
        key=lambda item: (-item[0] - (2.0 if p.postal and p.postal == item[1].postal else 0.0), item[1].key),
    )
    if not ranked:
        return None
    similarity, best = ranked[0]
    close = tuple(sorted(a.key for s, a in ranked[1:] if s >= similarity - AMBIGUITY_MARGIN and a.name != best.name))
    bonus = 0.02 if p.postal and p.postal == best.postal else 0.0
    score = round(min(0.9, similarity / 100.0 * 0.9 + bonus), 4)
    return Match(p.key, best.key, score, "fuzzy", close)


def summarize(matches: Sequence[Match]) -> dict[str, object]:
    """Counts for the ``--json`` summary: prospects, matched, unmatched, by_method, ambiguous."""
    by_method = {method: 0 for method in METHODS}
    for m in matches:
        by_method[m.method] += 1
    matched = sum(1 for m in matches if m.account_id is not None)
    return {
        "prospects": len(matches),
        "matched": matched,
        "unmatched": len(matches) - matched,
        "by_method": by_method,
        "ambiguous": sum(1 for m in matches if m.alternatives),
    }
