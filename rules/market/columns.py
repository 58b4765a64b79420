"""Prospect list columns: which header means which field, and people rows folded into companies.

Generic lists (purchased location data, trade-fair lists) name their columns in German or
English; Apollo exports use their own names and, for *people* exports, one row per person
with the company's columns beside them. :func:`column_map` finds our field for each header
(``--map COL=FIELD`` wins), :func:`fold_rows` turns rows into one :class:`ProspectRow` per
company (by prospect key) and drops personal fields unless contacts are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from territory.rules.market.normalize import (
    fold_text,
    normalize_company_name,
    normalize_postal,
    registrable_domain,
)

FIELDS = ("id", "name", "domain", "street", "postal_code", "city", "country", "industry",
          "employees", "annual_revenue", "phone")
NUMERIC = ("employees", "annual_revenue")
# Personal fields of people exports: dropped unless --keep-contacts.
CONTACT_FIELDS = ("first_name", "last_name", "email", "title", "person_phone", "person_linkedin")

_GENERIC = {
    "id": ("id", "prospect id", "company id", "firmen id", "duns", "duns number"),
    "name": ("name", "company", "company name", "firma", "firmenname", "unternehmen", "account name", "organisation"),
    "domain": ("domain", "website", "web", "url", "homepage", "internet", "webseite", "company website"),
    "street": ("street", "strasse", "address", "adresse", "anschrift", "street address"),
    "postal_code": ("postal code", "postal_code", "zip", "zip code", "postcode", "plz", "postleitzahl"),
    "city": ("city", "ort", "stadt", "town"),
    "country": ("country", "land", "country code", "staat"),
    "industry": ("industry", "branche", "nace", "nace code", "sic", "sic code", "wz code", "sector"),
    "employees": ("employees", "mitarbeiter", "beschaftigte", "anzahl mitarbeiter", "headcount", "number of employees"),
    "annual_revenue": ("annual revenue", "annual_revenue", "revenue", "umsatz", "jahresumsatz", "turnover"),
    "phone": ("phone", "telefon", "tel", "company phone", "telefonnummer"),
}
_APOLLO = {
    "id": ("apollo account id",),
    "name": ("company", "company name", "account name"),
    "domain": ("website", "company website", "company domain"),
    "street": ("company street", "company address"),
    "postal_code": ("company postal code", "company zip", "company zip code"),
    "city": ("company city",),
    "country": ("company country",),
    "industry": ("industry", "sic codes", "naics codes"),
    "employees": ("# employees", "employees", "number of employees"),
    "annual_revenue": ("annual revenue",),
    "phone": ("company phone", "corporate phone"),
    "first_name": ("first name",),
    "last_name": ("last name",),
    "email": ("email", "secondary email"),
    "title": ("title",),
    "person_phone": ("work direct phone", "mobile phone", "home phone", "other phone", "first phone"),
    "person_linkedin": ("person linkedin url",),
}
_PEOPLE_MARKERS = ("first name", "last name", "email", "apollo contact id")


def _key(header: str) -> str:
    return fold_text(header.replace("#", " hash ")).replace(" hash ", "# ").replace("hash ", "# ").strip()


def detect_format(header: Iterable[str]) -> str:
    """``apollo`` when the header carries Apollo's column names, else ``generic``."""
    keys = {_key(h) for h in header}
    markers = {_key(m) for m in ("apollo account id", "apollo contact id", "company name for emails", "# employees")}
    return "apollo" if keys & markers else "generic"


def is_people_export(header: Iterable[str]) -> bool:
    """One row per person (Apollo people export or any list with person columns)."""
    keys = {_key(h) for h in header}
    return sum(_key(marker) in keys for marker in _PEOPLE_MARKERS) >= 2


def column_map(header: list[str], fmt: str, overrides: Mapping[str, str]) -> dict[int, str]:
    """Column index -> our field. ``overrides`` maps header names to fields (``--map``).

    Raises:
        ValueError: an override names an unknown column or field, or no column gives a name.
    """
    aliases = _APOLLO if fmt == "apollo" else _GENERIC
    by_alias = {_key(alias): name for name, values in aliases.items() for alias in values}
    mapped: dict[int, str] = {}
    for index, column in enumerate(header):
        found = by_alias.get(_key(column))
        if found is not None and found not in mapped.values():
            mapped[index] = found
    for column, target in overrides.items():
        if target not in FIELDS and target not in CONTACT_FIELDS:
            raise ValueError(f"--map {column}={target}: unknown field; use one of {', '.join(FIELDS)}")
        matches = [i for i, h in enumerate(header) if h.strip().casefold() == column.strip().casefold()]
        if not matches:
            raise ValueError(f"--map {column}={target}: the file has no column {column!r} (it has {', '.join(header)})")
        mapped = {i: f for i, f in mapped.items() if f != target}
        mapped[matches[0]] = target
    if "name" not in mapped.values():
        raise ValueError(f"no company name column found among {', '.join(header)}; name it with --map COLUMN=name")
    return mapped


@dataclass
class ProspectRow:
    """One company of a list, as read (numbers parsed, text stripped)."""

    key: str
    line: int
    values: dict[str, object] = field(default_factory=dict)
    contacts: list[dict[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None or value == "" else str(value)


def prospect_key(values: Mapping[str, object]) -> str:
    """Stable across re-imports: the list's own id, else domain or name, at postal code or city."""
    given = str(values.get("id") or "").strip()
    if given:
        return f"id:{given}"
    what = registrable_domain(str(values.get("domain") or "")) or normalize_company_name(str(values.get("name") or ""))
    where = normalize_postal(str(values.get("postal_code") or "")) or fold_text(str(values.get("city") or ""))
    return f"{what}@{where}" if where else what


@dataclass
class FoldResult:
    """Prospects (one per key, first row's values, gaps filled from later rows)."""

    prospects: list[ProspectRow]
    rows: int
    contacts_dropped: int


def fold_rows(
    records: Iterable[tuple[int, list[str]]],
    columns: dict[int, str],
    parse_number: Callable[[str, int, str], float | None],
    *,
    keep_contacts: bool,
) -> FoldResult:
    """Rows -> prospects; personal fields of people rows dropped (counted) unless kept."""
    by_key: dict[str, ProspectRow] = {}
    rows = dropped = 0
    for line, cells in records:
        rows += 1
        values: dict[str, object] = {}
        contact: dict[str, str] = {}
        for index, name in columns.items():
            text = cells[index].strip() if index < len(cells) else ""
            if name in CONTACT_FIELDS:
                if text:
                    contact[name] = text
            elif name in NUMERIC:
                values[name] = parse_number(text, line, name) if text else None
            else:
                values[name] = text
        if not values.get("name"):
            continue
        key = prospect_key(values)
        row = by_key.setdefault(key, ProspectRow(key, line, values))
        for name, value in values.items():
            if row.values.get(name) in (None, "") and value not in (None, ""):
                row.values[name] = value
        if contact:
            if keep_contacts:
                row.contacts.append(contact)
            else:
                dropped += 1
    return FoldResult(list(by_key.values()), rows, dropped)
