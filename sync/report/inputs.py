"""What the quarterly report reads, in one plain shape whatever the source.

:func:`load_store_input` reads the synced store (accounts, owners, every kept opportunity,
rule conflicts, a saved scenario); :func:`load_csv_input` reads the planner's CSV contracts
(accounts.csv with potential and workload, reps.csv). Both may take a reps overlay whose
optional ``quota``, ``territory_since`` and ``capacity`` columns fill what the CRM lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from territory import rules
from territory.rules.health import segment_of
from territory.rules.text_files import TextFile, TextFileError, read_text_file
from territory.sync.book import load_book
from territory.sync.store import Store
from territory.sync.tables import AccountRow, OwnerRow

OVERLAY_COLUMNS = ("id", "quota", "territory_since", "capacity")


class ReportInputError(ValueError):
    """An input file or the store cannot give the report what it needs (exit 2)."""


@dataclass(frozen=True)
class RepInput:
    """A rep as the report shows it."""

    id: str
    name: str
    active: bool = True
    capacity: float | None = None
    quota: float | None = None
    territory_since: date | None = None
    quota_source: str | None = None  # "overlay" (--reps / reps.csv) or "crm" (TERRITORY_QUOTA_FIELD)


@dataclass(frozen=True)
class OppInput:
    """An opportunity (open or closed) in our vocabulary."""

    id: str
    account_id: str | None
    owner_id: str | None
    amount: float | None
    stage: str | None
    close_date: date | None
    created_on: date | None
    is_closed: bool
    is_won: bool | None


@dataclass(frozen=True)
class ConflictInput:
    """One open rule conflict on an account."""

    account_id: str
    account_name: str
    status: str
    reason: str
    owner_id: str | None
    url: str | None


@dataclass
class ReportInput:
    """Everything the figures are computed from; ``None`` members mean "no data"."""

    source: dict[str, Any]
    reps: list[RepInput]
    account_ids: list[str]
    account_names: list[str]
    owner_ids: list[str | None]
    lat: np.ndarray
    lon: np.ndarray
    potential: np.ndarray
    workload: np.ndarray
    segments: list[str]
    default_capacity: float
    opportunities: list[OppInput] | None = None
    opportunities_note: str = ""
    conflicts: list[ConflictInput] | None = None
    conflicts_note: str = ""
    activity: dict[str, int] | None = None
    activity_note: str = "no activities read"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RepOverlay:
    """Optional per-rep figures from a CSV file (``id`` plus any of the known columns)."""

    quota: dict[str, float] = field(default_factory=dict)
    since: dict[str, date] = field(default_factory=dict)
    capacity: dict[str, float] = field(default_factory=dict)


def read_rep_overlay(path: Path | None) -> RepOverlay:
    """``id`` and optional ``quota``, ``territory_since`` (ISO date), ``capacity`` columns; read
    like the planner's CSV files (UTF-8/UTF-16/cp1252, ``,`` ``;`` or tab, decimal commas)."""
    if path is None:
        return RepOverlay()
    overlay = RepOverlay()
    try:
        text = read_text_file(path, known=OVERLAY_COLUMNS)
        header = [name.lower() for name in text.header]
        if "id" not in header:
            raise ReportInputError(f"{path}, line 1: the header needs an id column (found: {', '.join(text.header)})")
        for line, fields in text.records():
            row = dict(zip(header, (value.strip() for value in fields)))
            _overlay_row(text, line, row, overlay)
    except TextFileError as exc:
        raise ReportInputError(str(exc)) from None
    return overlay


def _overlay_row(text: TextFile, line: int, row: dict[str, str], overlay: RepOverlay) -> None:
    rep_id = row.get("id", "")
    if not rep_id:
        return
    for column, target in (("quota", overlay.quota), ("capacity", overlay.capacity)):
        value = text.parse_number(row.get(column, ""), line=line, column=column)
        if value is not None:
            target[rep_id] = value
    since = row.get("territory_since", "")
    if since:
        try:
            overlay.since[rep_id] = date.fromisoformat(since)
        except ValueError:
            raise ReportInputError(f"{text.source}, line {line}: territory_since {since!r} is not an ISO date "
                                   "like 2026-04-01") from None


def load_store_input(
    store: Store,
    crm: str,
    rule_config: rules.RulesConfig,
    *,
    overlay: RepOverlay,
    account_link: Callable[[str], str | None],
    rules_found: bool,
) -> ReportInput:
    """The synced book of ``crm``: coverage by the rules' math, conflicts, opportunities."""
    book = load_book(store, crm)
    if not book.accounts:
        raise ReportInputError("the store holds no accounts: run `territory sync` first")
    crm_quotas = _store_quotas(store, crm)
    reps = [RepInput(rep.id, rep.name, rep.active, overlay.capacity.get(rep.id),
                     overlay.quota.get(rep.id, crm_quotas.get(rep.id)), overlay.since.get(rep.id),
                     quota_source="overlay" if rep.id in overlay.quota else "crm" if rep.id in crm_quotas else None)
            for rep in book.reps]
    rule_reps = [rules.Rep(id=r.id, name=r.name, active=r.active, capacity=r.capacity) for r in reps]
    evaluation = rules.evaluate(book.accounts, rule_config, reps=rule_reps, opportunities=book.opportunities)
    lat, lon = _coordinates(store, crm, [a.id for a in book.accounts])
    report = ReportInput(
        source={"kind": "store", "crm": crm, "store": store.url},
        reps=reps,
        account_ids=[a.id for a in book.accounts],
        account_names=[a.name for a in book.accounts],
        owner_ids=[a.owner_id for a in book.accounts],
        lat=lat, lon=lon,
        potential=np.asarray(evaluation.facts.potential, dtype=float),
        workload=np.asarray(evaluation.facts.workload, dtype=float),
        segments=[segment_of(a.employees) for a in book.accounts],
        default_capacity=rule_config.coverage.capacity_per_rep,
        opportunities=_store_opportunities(store, crm),
    )
    if rules_found:
        report.conflicts = _conflicts(evaluation, book.accounts, account_link)
    else:
        report.conflicts_note = "no rules file: run `territory rules draft` (or pass --rules) to see conflicts"
    return report


def _store_quotas(store: Store, crm: str) -> dict[str, float]:
    """Quotas the sync read from the CRM field TERRITORY_QUOTA_FIELD names."""
    table = OwnerRow.__table__  # type: ignore[attr-defined]
    query = sa.select(table.c.id, table.c.quota).where(table.c.crm == crm, table.c.quota.is_not(None))
    with store.engine.connect() as conn:
        return {row.id: float(row.quota) for row in conn.execute(query)}


def _coordinates(store: Store, crm: str, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    table = AccountRow.__table__  # type: ignore[attr-defined]
    query = sa.select(table.c.id, table.c.lat, table.c.lon).where(table.c.crm == crm)
    with store.engine.connect() as conn:
        points = {row.id: (row.lat, row.lon) for row in conn.execute(query)}
    lat = np.array([_num(points.get(i, (None, None))[0]) for i in ids], dtype=float)
    lon = np.array([_num(points.get(i, (None, None))[1]) for i in ids], dtype=float)
    return lat, lon


def _num(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _store_opportunities(store: Store, crm: str) -> list[OppInput]:
    def day(value: datetime | None) -> date | None:
        return value.date() if value is not None else None

    return [
        OppInput(row["id"], row["account_id"], row["owner_id"], row["amount"], row["stage"],
                 row["close_date"], day(row["created_at"]), bool(row["is_closed"]), row["is_won"])
        for row in store.iter_records("opportunities", crm=crm)
    ]


def _conflicts(evaluation: rules.Evaluation, accounts: list[rules.Account],
               account_link: Callable[[str], str | None]) -> list[ConflictInput]:
    conflict_codes = [code for code, status in enumerate(rules.STATUS_PRECEDENCE)
                      if status in rules.CONFLICT_STATUSES]
    rows = np.flatnonzero(np.isin(evaluation.facts.status, conflict_codes)).tolist()
    out = []
    for row in rows:
        decision = evaluation.decision(row)
        account = accounts[row]
        out.append(ConflictInput(account.id, account.name, decision.status.value, decision.reason,
                                 account.owner_id, account_link(account.id)))
    return out


def load_csv_input(accounts_path: Path, reps_path: Path, *, overlay: RepOverlay,
                   default_capacity: float) -> ReportInput:
    """The planner's CSV contracts: accounts with potential and workload, reps with capacity."""
    from territory.planner.csv_io import PlanInputError, read_instance

    try:
        instance = read_instance(accounts_path, reps_path)
    except PlanInputError as exc:
        raise ReportInputError(str(exc)) from None
    merged = overlay if overlay.quota or overlay.since else read_rep_overlay(reps_path)
    reps = [RepInput(r.id, r.name, r.active, r.capacity, merged.quota.get(r.id), merged.since.get(r.id),
                     quota_source="overlay" if r.id in merged.quota else None)
            for r in instance.reps]
    accounts = instance.accounts
    return ReportInput(
        source={"kind": "csv", "accounts": str(accounts_path), "reps": str(reps_path)},
        reps=reps,
        account_ids=[a.id for a in accounts],
        account_names=[a.name or a.id for a in accounts],
        owner_ids=[a.owner_id for a in accounts],
        lat=np.array([a.lat for a in accounts], dtype=float),
        lon=np.array([a.lon for a in accounts], dtype=float),
        potential=np.array([a.potential for a in accounts], dtype=float),
        workload=np.array([a.workload for a in accounts], dtype=float),
        segments=[segment_of(None)] * len(accounts),
        default_capacity=default_capacity,
        opportunities_note="the CSV contracts carry no opportunities",
        conflicts_note="conflicts need the synced store and a rules file",
        activity_note="the CSV contracts carry no activities",
    )
