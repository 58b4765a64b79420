"""A stand-in for a data vendor: prospect lists planted against a CRM book, with the truth.

:func:`planted_market` drafts a CRM book the way the emulator seeds one (invented German and
international companies, real cities and postal codes, unique domains) and a prospect list
over the same market: a share of the prospects are CRM companies as another source writes
them, the rest are genuinely new companies. Each planted copy gets independent distortions:

- the legal form changed, dropped or spelled out (``GmbH`` -> ``GmbH & Co. KG``);
- the website with scheme, ``www.``, a path, or a sub-domain; or no website at all;
- umlauts transliterated (``ü`` -> ``ue``) or dropped (``ü`` -> ``u``), case changed;
- a typo in the name (a swapped, dropped, doubled or replaced letter);
- a postal code moved within the same city, or missing;

and a few CRM companies are entered twice (a duplicate sharing the domain). New companies
never share a normalised name with a CRM account of the same postal area (then they would
be the same company by any definition); similar names ("Müller Metallbau" next to "Müller
Maschinenbau") are kept on purpose, as the hard negatives.

``truth`` maps each prospect key to the set of account ids that are the same company (empty
for new companies), so a duplicate pair counts as one company.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from territory.emulator.cities import city_by_name, vary_postal_code
from territory.emulator.seed import _AccountDrafter
from territory.emulator.state import EmuAccount

_LEGAL_SWAPS = {
    "GmbH": ("GmbH & Co. KG", "Gesellschaft mit beschränkter Haftung", "", "GmbH."),
    "GmbH & Co. KG": ("GmbH", "GmbH & Co KG", "KG"),
    "AG": ("", "Aktiengesellschaft", "AG & Co. KG"),
    "KG": ("", "GmbH & Co. KG"),
    "e.K.": ("", "e. K.", "eK"),
    "UG (haftungsbeschränkt)": ("UG", "", "UG (haftungsbeschraenkt)"),
    "SE": ("", "AG"),
    "Ltd": ("Limited", "Ltd.", ""),
    "Inc.": ("Inc", "Incorporated", ""),
    "S.A.": ("SA", ""),
}


@dataclass
class PlantedMarket:
    """A CRM book, a prospect list over the same market and which prospect is which account."""

    accounts: list[dict[str, object]] = field(default_factory=list)
    prospects: list[dict[str, object]] = field(default_factory=list)
    truth: dict[str, set[str]] = field(default_factory=dict)


def _as_row(account: EmuAccount, key: str) -> dict[str, object]:
    return {
        "id": key, "name": account.name, "domain": account.domain, "postal_code": account.postal_code,
        "city": account.city, "country": account.country, "industry": account.industry,
        "employees": account.employees, "annual_revenue": account.annual_revenue,
    }


def planted_market(accounts: int = 2000, prospects: int = 2000, *, known_share: float = 0.6, seed: int = 0) -> PlantedMarket:
    """Draft the book and the list (deterministic for ``seed``)."""
    rng = random.Random(seed)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    crm = _AccountDrafter(random.Random(seed * 7919 + 1), now, 1).draft(accounts).accounts
    market = PlantedMarket(accounts=[_as_row(a, f"ACC{a.n:07d}") for a in crm])
    _plant_duplicates(market, rng)
    known = int(prospects * known_share)
    for i, row in enumerate(rng.sample(market.accounts, min(known, len(market.accounts)))):
        key = f"P{i:07d}"
        market.prospects.append({**distort(row, rng), "id": key})
        market.truth[key] = _same_company(market, row)
    _add_new_companies(market, prospects - len(market.prospects), rng, seed)
    rng.shuffle(market.prospects)
    return market


def _plant_duplicates(market: PlantedMarket, rng: random.Random, share: float = 0.02) -> None:
    originals = [a for a in market.accounts if a["domain"]]
    for n, row in enumerate(rng.sample(originals, int(len(originals) * share))):
        twin = {**row, "id": f"DUP{n:06d}", "name": rng.choice([row["name"], str(row["name"]).upper()])}
        market.accounts.append(twin)


def _same_company(market: PlantedMarket, row: dict[str, object]) -> set[str]:
    """The account and every CRM twin sharing its domain."""
    if not market.__dict__.get("_by_domain"):
        by_domain: dict[object, set[str]] = {}
        for a in market.accounts:
            if a["domain"]:
                by_domain.setdefault(a["domain"], set()).add(str(a["id"]))
        market.__dict__["_by_domain"] = by_domain
    return {str(row["id"])} | market.__dict__["_by_domain"].get(row["domain"], set())


def distort(row: dict[str, object], rng: random.Random) -> dict[str, object]:
    """A CRM row as another source writes the same company (see the module docstring)."""
    out = dict(row)
    name = str(row["name"])
    if rng.random() < 0.45:
        name = _swap_legal_form(name, rng)
    if rng.random() < 0.35:
        name = name.translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}))
    elif rng.random() < 0.1:
        name = name.translate(str.maketrans({"ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U"}))
    if rng.random() < 0.12:
        name = _typo(name, rng)
    if rng.random() < 0.1:
        name = name.upper()
    out["name"] = name
    out["domain"] = _website(row["domain"], rng)
    city = row["city"]
    if rng.random() < 0.12 and city:
        try:
            out["postal_code"] = vary_postal_code(city_by_name(str(city)), rng)
        except KeyError:
            pass
    elif rng.random() < 0.05:
        out["postal_code"] = None
    return out


def _swap_legal_form(name: str, rng: random.Random) -> str:
    for form in sorted(_LEGAL_SWAPS, key=len, reverse=True):
        if name.endswith(" " + form):
            return f"{name[: -len(form) - 1]} {rng.choice(_LEGAL_SWAPS[form])}".strip()
    return f"{name} {rng.choice(('GmbH', 'AG', 'KG'))}"


def _typo(name: str, rng: random.Random) -> str:
    words = name.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not long_words:
        return name
    i = rng.choice(long_words)
    word = words[i]
    at = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        word = word[:at] + word[at + 1] + word[at] + word[at + 2:]
    elif kind == 1:
        word = word[:at] + word[at + 1:]
    elif kind == 2:
        word = word[:at] + word[at] + word[at:]
    else:
        word = word[:at] + rng.choice("aeinrst") + word[at + 1:]
    words[i] = word
    return " ".join(words)


def _website(domain: object, rng: random.Random) -> str | None:
    if not domain or rng.random() < 0.2:
        return None
    roll = rng.random()
    if roll < 0.25:
        return f"https://www.{domain}/"
    if roll < 0.4:
        return f"http://{domain}/kontakt/impressum.html"
    if roll < 0.5:
        return f"www.{domain}"
    if roll < 0.55:
        return f"shop.{domain}"
    return str(domain)


def _add_new_companies(market: PlantedMarket, count: int, rng: random.Random, seed: int) -> None:
    from territory.rules.market.normalize import (
        normalize_company_name,
        normalize_postal,
        postal_area,
    )

    taken = {(normalize_company_name(str(a["name"])), postal_area(normalize_postal(str(a["postal_code"] or ""))))
             for a in market.accounts}
    taken_city = {(normalize_company_name(str(a["name"])), a["city"]) for a in market.accounts}
    domains = {a["domain"] for a in market.accounts if a["domain"]}
    drafter = _AccountDrafter(random.Random(seed * 104729 + 3), datetime(2026, 1, 1, tzinfo=UTC), 1)
    made = 0
    while made < count:
        for fresh in drafter.draft(max(50, count - made)).accounts:
            name = normalize_company_name(fresh.name)
            area = postal_area(normalize_postal(fresh.postal_code or ""))
            if (name, area) in taken or (name, fresh.city) in taken_city or fresh.domain in domains or made >= count:
                continue
            taken.add((name, area))
            taken_city.add((name, fresh.city))
            if fresh.domain:
                domains.add(fresh.domain)
            key = f"N{made:07d}"
            market.prospects.append({**distort(_as_row(fresh, key), rng), "id": key})
            market.truth[key] = set()
            made += 1
