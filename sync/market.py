"""Market sources in the store: import a prospect list, match it to the CRM, keep decisions.

A source is replaced whole on re-import (same name): its prospects are deleted and written
again in one transaction, while the users' confirm/reject decisions live in their own table
keyed by (source name, prospect key), so they survive and are applied to the new match run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from territory import rules
from territory.rules.market.columns import ProspectRow, column_map, detect_format, fold_rows
from territory.rules.market.matching import Match, Party, match_prospects, summarize
from territory.rules.text_files import ReadOptions, TextFile, read_text_file
from territory.sync.book import load_book
from territory.sync.store import Store
from territory.sync.tables import MarketDecisionRow, MarketProspectRow, MarketSourceRow, utc_now

SOURCES: sa.Table = MarketSourceRow.__table__  # type: ignore[attr-defined]
PROSPECTS: sa.Table = MarketProspectRow.__table__  # type: ignore[attr-defined]
DECISIONS: sa.Table = MarketDecisionRow.__table__  # type: ignore[attr-defined]


def open_list(path: Path, options: ReadOptions | None = None) -> TextFile:
    """The one place a market list file is opened (the shared reader of ``rules.text_files``)."""
    return read_text_file(path, options)


@dataclass
class ImportResult:
    """What one import read, matched and (unless a dry run) stored."""

    source: str
    format: str
    people_rows: bool
    rows: int
    prospects: list[ProspectRow]
    matches: list[Match]
    contacts_dropped: int
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The ``--json`` summary (contract keys first, then details)."""
        counts = summarize(self.matches)
        return {
            **counts,
            "contacts_dropped": self.contacts_dropped,
            "ambiguous_matches": [
                {"prospect_key": m.prospect_key, "account_id": m.account_id, "method": m.method,
                 "other_account_ids": list(m.alternatives)}
                for m in self.matches if m.alternatives
            ],
            "source": self.source, "format": self.format, "rows": self.rows,
        }


def read_list(path: Path, fmt: str | None, overrides: dict[str, str], *, keep_contacts: bool,
              options: ReadOptions | None = None) -> tuple[str, bool, Any, TextFile]:
    """Read and fold a list file: (format, people export?, fold result, the text file)."""
    from territory.rules.market.columns import is_people_export

    text = open_list(path, options)
    header = text.header
    chosen = fmt or detect_format(header)
    columns = column_map(header, chosen, overrides)
    folded = fold_rows(text.records(), columns, lambda value, line, column: text.parse_number(value, line=line, column=column),
                       keep_contacts=keep_contacts)
    return chosen, is_people_export(header), folded, text


def crm_parties(store: Store, crm: str, rule_config: rules.RulesConfig | None) -> tuple[list[Party], int]:
    """The CRM book as matcher parties with the rules' tiebreakers as ``preference``, and the
    position of the address closeness (``billing_territory``) in it."""
    book = load_book(store, crm)
    cities = {r["id"]: r["city"] for r in store.iter_records("accounts", crm=crm)}
    preference: dict[str, tuple[float, ...]] = {a.id: () for a in book.accounts}
    address_at = 0
    if rule_config is not None and book.accounts:
        evaluation = rules.evaluate(book.accounts, rule_config, reps=book.reps, opportunities=book.opportunities)
        territories = rule_config.territories
        loads = evaluation.facts.loads
        keys: list[list[float]] = [[] for _ in book.accounts]
        for name in rule_config.tiebreakers:
            if name == "billing_territory":
                address_at = len(keys[0]) if keys else 0
                continue
            for row, account in enumerate(book.accounts):
                if name == "named_account":
                    keys[row].append(0.0 if evaluation.decision(row).status == rules.Status.NAMED else 1.0)
                elif name == "priority":
                    chosen = evaluation.resolution(row).territory
                    keys[row].append(-float(territories[chosen].priority) if chosen is not None else 0.0)
                elif name == "lowest_load":
                    keys[row].append(loads.get(account.owner_id or "", 0.0))
        preference = {a.id: tuple(keys[row]) for row, a in enumerate(book.accounts)}
    parties = [Party(a.id, a.name, a.domain, a.postal_code, cities.get(a.id), a.country, preference[a.id])
               for a in book.accounts]
    return parties, address_at


def match_rows(prospects: Sequence[ProspectRow], accounts: Sequence[Party], address_at: int,
               decisions: dict[str, tuple[str, str | None]]) -> list[Match]:
    """Match, honouring decisions: confirmed pairs are kept as they are, rejected pairs never
    return, prospects created in the CRM by ``market push`` stay linked to their new account."""
    parties = [Party(p.key, p.get("name") or "", p.get("domain"), p.get("postal_code"), p.get("city"), p.get("country"))
               for p in prospects]
    rejected = [(key, account) for key, (kind, account) in decisions.items() if kind == "rejected" and account]
    found = match_prospects(parties, accounts, rejected=rejected, address_at=address_at)
    known = {a.key for a in accounts}
    out = []
    for match in found:
        kind, account = decisions.get(match.prospect_key, ("", None))
        if kind in ("confirmed", "created") and account in known:
            method = match.method if match.account_id == account else "none"
            match = Match(match.prospect_key, account, 1.0, method)
        elif kind == "created" and account:  # created by `market push`, not synced yet: still not whitespace
            match = Match(match.prospect_key, account, 1.0, "none")
        elif kind == "rejected" and account is None:
            match = Match(match.prospect_key, None, 0.0, "none")
        out.append(match)
    return out


class MarketStore:
    """Market sources, prospects and decisions of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    def decisions(self, source: str) -> dict[str, tuple[str, str | None]]:
        """prospect key -> (decision, account id) for ``source``."""
        query = sa.select(DECISIONS).where(DECISIONS.c.source_name == source)
        with self.engine.connect() as conn:
            return {r["prospect_key"]: (r["decision"], r["account_id"]) for r in conn.execute(query).mappings()}

    def decide(self, source: str, prospect_key: str, decision: str, account_id: str | None) -> None:
        """Record (or replace) a user's decision on one prospect's match."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(DECISIONS).where(DECISIONS.c.source_name == source, DECISIONS.c.prospect_key == prospect_key))
            conn.execute(sa.insert(DECISIONS).values(source_name=source, prospect_key=prospect_key, decision=decision,
                                                     account_id=account_id, decided_at=utc_now()))

    def save(self, result: ImportResult, path: Path, crm: str | None) -> None:
        """Replace the source's prospects with ``result`` (one transaction)."""
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        by_key = {m.prospect_key: m for m in result.matches}
        with self.engine.begin() as conn:
            conn.execute(sa.delete(SOURCES).where(SOURCES.c.name == result.source))
            source_id = conn.execute(sa.insert(SOURCES).values(
                name=result.source, imported_at=utc_now(), file_name=path.name, file_hash=digest,
                format=result.format, rows=result.rows, contacts_dropped=result.contacts_dropped,
            )).inserted_primary_key[0]
            conn.execute(sa.delete(PROSPECTS).where(PROSPECTS.c.source_id == source_id))
            rows = [_prospect_values(p, by_key[p.key], source_id, crm) for p in result.prospects]
            for start in range(0, len(rows), 1000):
                conn.execute(sa.insert(PROSPECTS), rows[start : start + 1000])

    def update_matches(self, source: str, matches: Sequence[Match], crm: str | None) -> None:
        """Store a new match run for an existing source."""
        source_id = self.source_id(source)
        with self.engine.begin() as conn:
            for m in matches:
                conn.execute(sa.update(PROSPECTS).where(PROSPECTS.c.source_id == source_id, PROSPECTS.c.key == m.prospect_key)
                             .values(crm=crm, account_id=m.account_id, score=m.score, method=m.method,
                                     alternatives=list(m.alternatives)))

    def link_created(self, source: str, prospect_key: str, account_id: str, crm: str) -> None:
        """A prospect was created in the CRM as ``account_id`` (``market push``): it is no
        longer whitespace, and the link survives re-imports and re-matches, also before the
        next sync brings the new account into the store."""
        self.decide(source, prospect_key, "created", account_id)
        source_id = self.source_id(source)
        with self.engine.begin() as conn:
            conn.execute(sa.update(PROSPECTS).where(PROSPECTS.c.source_id == source_id, PROSPECTS.c.key == prospect_key)
                         .values(crm=crm, account_id=account_id, score=1.0, method="none", alternatives=[]))

    def source_id(self, source: str) -> int:
        """Id of the source called ``source``. Raises KeyError when there is none."""
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(SOURCES.c.id).where(SOURCES.c.name == source)).scalar()
        if found is None:
            raise KeyError(source)
        return int(found)

    def sources(self) -> list[dict[str, Any]]:
        """Every source, oldest first."""
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(SOURCES).order_by(SOURCES.c.id)).mappings()]

    def prospects(self, source: str | None = None) -> list[dict[str, Any]]:
        """Stored prospects (of one source, or all) with their source name, in key order."""
        query = sa.select(PROSPECTS, SOURCES.c.name.label("source")).join(SOURCES, SOURCES.c.id == PROSPECTS.c.source_id)
        if source is not None:
            query = query.where(SOURCES.c.name == source)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.order_by(SOURCES.c.name, PROSPECTS.c.key)).mappings()]


def _prospect_values(p: ProspectRow, m: Match, source_id: int, crm: str | None) -> dict[str, Any]:
    values = {name: p.get(name) for name in ("domain", "street", "postal_code", "city", "country", "industry", "phone")}
    return {
        "source_id": source_id, "key": p.key, "line": p.line, "name": p.get("name") or "", **values,
        "employees": p.values.get("employees"), "annual_revenue": p.values.get("annual_revenue"),
        "contacts": p.contacts, "crm": crm, "account_id": m.account_id, "score": m.score, "method": m.method,
        "alternatives": list(m.alternatives),
    }


def import_market(
    store: Store,
    path: Path,
    *,
    source: str,
    fmt: str | None = None,
    overrides: dict[str, str] | None = None,
    keep_contacts: bool = False,
    crm: str | None = None,
    rule_config: rules.RulesConfig | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Read ``path``, match its prospects to ``crm``'s synced accounts and (unless ``dry_run``)
    store it as market source ``source``, replacing an earlier import of that name.

    Raises:
        TextFileError: the file cannot be read (file and line named).
        ValueError: no name column, or a bad ``--map``.
    """
    chosen, people, folded, text = read_list(path, fmt, overrides or {}, keep_contacts=keep_contacts)
    market = MarketStore(store)
    accounts, address_at = crm_parties(store, crm, rule_config) if crm else ([], 0)
    matches = match_rows(folded.prospects, accounts, address_at, market.decisions(source))
    result = ImportResult(source, chosen, people, folded.rows, folded.prospects, matches, folded.contacts_dropped,
                          list(text.notes))
    if not accounts:
        result.notes.append("the store holds no synced accounts: every prospect counts as new (run `territory sync` first)")
    if not dry_run:
        market.save(result, path, crm)
    return result


def rematch(store: Store, source: str, crm: str, rule_config: rules.RulesConfig | None) -> list[Match]:
    """Match a stored source again (after a sync or a decision) and store the result."""
    market = MarketStore(store)
    rows = [ProspectRow(r["key"], r["line"], {k: r[k] for k in ("name", "domain", "postal_code", "city", "country")})
            for r in market.prospects(source)]
    accounts, address_at = crm_parties(store, crm, rule_config)
    matches = match_rows(rows, accounts, address_at, market.decisions(source))
    market.update_matches(source, matches, crm)
    return matches
