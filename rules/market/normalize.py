"""Comparable forms of company names, website domains, cities and postal codes.

Both sides of a match (prospect list and CRM) go through the same functions, so a value
only has to be *consistent*, not pretty:

- names: lower case; German umlauts transliterated (``ä`` -> ``ae``) and then folded
  together with their plain spelling (``ae`` -> ``a``), so ``Müller``, ``Mueller`` and an
  export's ``Muller`` meet; other scripts to ASCII (anyascii); dots joined (``e.K.`` ->
  ``ek``, ``S.A.`` -> ``sa``) and other punctuation to spaces; connector words (``&``,
  ``und``, ``and``) dropped; legal forms stripped from the end (``GmbH & Co. KG``, ``AG``,
  ``UG (haftungsbeschränkt)``, ``Ltd``, ``Inc``, ``S.A.`` ...), never down to nothing.
- domains: scheme, ``www.``, paths, ports and e-mail local parts removed, then the
  registrable domain by the Public Suffix List bundled with ``publicsuffixlist`` (no network:
  the list ships inside the package), so ``shop.acme.co.uk`` -> ``acme.co.uk`` while
  ``acme.wixsite.com`` stays itself (a private suffix). Free-mail domains are no company
  website and normalise to empty.
- postal codes: ``rules.postal.normalize_postal_code`` after dropping a country prefix
  (``D-80331`` -> ``80331``); the postal *area* is its first two characters.

Why not cleanco for legal forms: it leaves ``UG (haftungsbeschränkt)``, ``e.K.`` and the
spelled-out German forms in place, and it works on raw text, so the folding above would have
to run twice; the table below is the small, German-heavy list this product needs.
"""

from __future__ import annotations

import functools
import re

from anyascii import anyascii
from publicsuffixlist import PublicSuffixList

from territory.rules.domains import normalize_domain
from territory.rules.postal import normalize_postal_code

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe"})
_FOLD = re.compile(r"(?<=[a-z])(ae|oe|ue)")
_PUNCT = re.compile(r"[^a-z0-9]+")
_PHRASES = (
    ("gesellschaft mit beschrankter haftung", "gmbh"),
    ("aktiengesellschaft", "ag"),
    ("kommanditgesellschaft auf aktien", "kgaa"),
    ("kommanditgesellschaft", "kg"),
    ("sp. z o.o.", "spzoo"),
    ("sp. z o. o.", "spzoo"),
    ("a/s", "as"),
    ("a.s.", "as"),
)
LEGAL_FORM_TOKENS = frozenset(
    ["gmbh", "mbh", "gesmbh", "ag", "se", "kg", "kgaa", "ohg", "gbr", "ek", "ev", "eg", "ug", "haftungsbeschrankt", "co", "cie", "ltd", "limited", "plc", "inc", "incorporated", "llc", "llp", "corp", "corporation", "company", "sa", "sas", "sarl", "sasu", "bv", "nv", "vof", "spa", "srl", "sl", "slu", "sro", "as", "aps", "ab", "oy", "oyj", "kft", "spzoo"]
)
_CONNECTORS = frozenset({"und", "and", "et", "y"})
FREEMAIL_DOMAINS = frozenset(
    ["gmail.com", "googlemail.com", "yahoo.com", "yahoo.de", "hotmail.com", "hotmail.de", "outlook.com", "outlook.de", "live.com", "live.de", "web.de", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "t-online.de", "freenet.de", "aol.com", "icloud.com", "me.com", "posteo.de", "mail.de", "arcor.de", "bluewin.ch"]
)
_COUNTRY_PREFIX = re.compile(r"^(?:[A-Z]{1,3})-(?=\d)")


@functools.lru_cache(maxsize=1)
def _suffix_list() -> PublicSuffixList:
    return PublicSuffixList()  # reads the list bundled in the package; never fetches


def fold_text(raw: str | None) -> str:
    """Lower-case ASCII words separated by single spaces (umlauts folded, dots joined)."""
    if not raw:
        return ""
    text = anyascii(raw.lower().translate(_GERMAN)).lower()
    text = _FOLD.sub(lambda m: m.group(1)[0], text)
    for phrase, short in _PHRASES:
        text = text.replace(phrase, short)
    text = text.replace(".", "")
    return " ".join(_PUNCT.sub(" ", text).split())


@functools.lru_cache(maxsize=262144)
def normalize_company_name(raw: str | None) -> str:
    """``Müller Maschinenbau GmbH & Co. KG`` -> ``muller maschinenbau``."""
    words = [w for w in fold_text(raw).split() if w not in _CONNECTORS]
    while len(words) > 1 and words[-1] in LEGAL_FORM_TOKENS:
        words.pop()
    return " ".join(words)


def normalize_city(raw: str | None) -> str:
    """``Frankfurt (Oder)`` -> ``frankfurt oder``; ``München`` and ``Muenchen`` agree."""
    return fold_text(raw)


@functools.lru_cache(maxsize=262144)
def registrable_domain(raw: str | None) -> str:
    """``https://www.shop.Acme.co.uk/de`` -> ``acme.co.uk``; empty for none or free mail."""
    host = normalize_domain(raw)
    if not host or "." not in host:
        return ""
    found = _suffix_list().privatesuffix(host)
    domain = found or host
    return "" if domain in FREEMAIL_DOMAINS else domain


def normalize_postal(raw: str | None) -> str:
    """``D-80331`` / ``80 331`` -> ``80331``; ``SW1A 1AA`` -> ``SW1A1AA``."""
    if not raw:
        return ""
    text = str(raw).strip().upper()
    return normalize_postal_code(_COUNTRY_PREFIX.sub("", text))


def postal_area(postal: str) -> str:
    """The blocking area of a normalised postal code: its first two characters."""
    return postal[:2] if len(postal) >= 2 else ""


def normalize_country(raw: str | None) -> str:
    """Upper-case ISO-like code; a few common spelled-out names mapped to theirs."""
    if not raw:
        return ""
    text = fold_text(raw)
    return _COUNTRY_NAMES.get(text, text.upper() if len(text) <= 3 else text)


_COUNTRY_NAMES = {
    "deutschland": "DE", "germany": "DE", "osterreich": "AT", "austria": "AT",
    "schweiz": "CH", "switzerland": "CH", "niederlande": "NL", "netherlands": "NL",
    "belgien": "BE", "belgium": "BE", "frankreich": "FR", "france": "FR",
    "united kingdom": "GB", "grossbritannien": "GB", "uk": "GB", "polen": "PL", "poland": "PL",
    "tschechien": "CZ", "czech republic": "CZ", "czechia": "CZ", "danemark": "DK", "denmark": "DK",
    "schweden": "SE", "sweden": "SE", "italien": "IT", "italy": "IT", "spanien": "ES",
    "spain": "ES", "united states": "US", "usa": "US", "vereinigte staaten": "US",
}
