"""CSV adapter for the planner: accounts.csv + reps.csv in, plan.csv out.

Formats (extra columns are ignored). Files are read as :mod:`territory.rules.text_files`
reads them, like ``rules evaluate`` does: UTF-8 with or without a byte-order mark, UTF-16
(Excel "Unicode text"), cp1252; ``,`` ``;`` or tab separators; decimal commas where a number
is expected.

- accounts.csv: ``id,name,owner_id,lat,lon,potential,workload,locked,industry[,visit_mode,postal_code]``;
  ``locked`` is true/false/1/0/yes/no (empty = false); empty ``owner_id`` = no owner yet;
  empty ``industry`` = unknown; ``visit_mode`` is field (empty or missing), remote or hybrid;
  ``postal_code`` is only used to look up drive times keyed by postal code.
- reps.csv: ``id,name,lat,lon,capacity,active,industries[,target_weight,mode]``; ``industries`` is
  ``;``-separated, empty = may serve any industry; empty ``active`` = true; empty or missing
  ``target_weight`` = 1; ``mode`` is field (empty or missing) or inside.
- a homes file (``--reps`` when planning from the store) may hold just ``id,lat,lon``: it
  overrides those columns of the synced reps (:func:`read_rep_overrides`).
- plan.csv: ``account_id,from_owner_id,to_owner_id,reason``, one row per moved account.

Every problem raises :class:`PlanInputError` with the file, the 1-based line number and what to
fix; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from territory.planner.instance import REP_MODES, VISIT_MODES, Instance, Plan, PlanAccount, PlanRep
from territory.rules.text_files import (
    NotANumber,
    ReadOptions,
    ReadReport,
    TextFile,
    TextFileError,
    read_text_file,
)

ACCOUNT_COLUMNS = ("id", "name", "owner_id", "lat", "lon", "potential", "workload", "locked", "industry")
REP_COLUMNS = ("id", "name", "lat", "lon", "capacity", "active", "industries")
ACCOUNT_OPTIONAL = ("visit_mode", "postal_code")
REP_OPTIONAL = ("target_weight", "mode")
PLAN_COLUMNS = ("account_id", "from_owner_id", "to_owner_id", "reason")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}

T = TypeVar("T")


class PlanInputError(ValueError):
    """A bad input file. Attributes: ``path``, ``line`` (1-based, 0 if none), ``problem``."""

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}, line {line}" if line else self.path
        super().__init__(f"{where}: {problem}")


class _Row:
    """One CSV record with typed getters that raise PlanInputError naming file and line."""

    def __init__(self, path: Path, line: int, values: dict[str, str], file: TextFile) -> None:
        self.path, self.line, self.values, self.file = path, line, values, file

    def fail(self, problem: str) -> PlanInputError:
        return PlanInputError(self.path, self.line, problem)

    def text(self, column: str) -> str:
        return (self.values.get(column) or "").strip()

    def required_text(self, column: str) -> str:
        value = self.text(column)
        if not value:
            raise self.fail(f"column '{column}' is empty; every row needs a value")
        return value

    def number(
        self,
        column: str,
        *,
        low: float | None = None,
        high: float | None = None,
        default: float | None = None,
    ) -> float:
        raw = self.text(column)
        if not raw and default is not None:
            return default
        try:
            parsed = self.file.parse_number(raw, line=self.line, column=column)
        except NotANumber:
            raise self.fail(f"column '{column}' must be a number, got {raw!r}") from None
        except TextFileError as exc:  # 1.234 with nothing telling how the file writes decimals
            raise self.fail(exc.problem) from None
        value = math.nan if parsed is None else parsed
        if not math.isfinite(value):
            raise self.fail(f"column '{column}' must be a finite number, got {raw!r}")
        if low is not None and value < low:
            hint = " (negative values are not allowed)" if low == 0 else ""
            raise self.fail(f"column '{column}' must be >= {low:g}, got {raw}{hint}")
        if high is not None and value > high:
            raise self.fail(f"column '{column}' must be <= {high:g}, got {raw}")
        return value

    def choice(self, column: str, allowed: Sequence[str]) -> str:
        """One of ``allowed`` (case-insensitive); empty or missing means the first."""
        raw = self.text(column).lower()
        if not raw:
            return allowed[0]
        if raw not in allowed:
            raise self.fail(f"column '{column}' must be one of {', '.join(allowed)} (empty = {allowed[0]}), got {raw!r}")
        return raw

    def flag(self, column: str, *, default: bool) -> bool:
        raw = self.text(column).lower()
        if not raw:
            return default
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise self.fail(f"column '{column}' must be true/false/1/0, got {raw!r}")


def _open_table(
    path: Path, required: Sequence[str], options: ReadOptions | None = None, report: ReadReport | None = None,
    optional: Sequence[str] = (),
) -> TextFile:
    """The decoded file with its header checked for ``required`` columns."""
    try:
        file = read_text_file(path, options, known=(*required, *optional))
    except TextFileError as exc:
        raise PlanInputError(path, exc.line, exc.problem) from None
    header = file.header
    if not any(header):
        raise PlanInputError(path, 1, f"the file is empty; expected a header with {', '.join(required)}")
    missing = [column for column in required if column not in header]
    if missing:
        raise PlanInputError(
            path, 1, f"missing column(s) {', '.join(missing)}; the header needs {', '.join(required)}"
        )
    if report is not None:
        report.add(file.source, file.notes, header, optional)
    return file


def _iter_rows(
    path: Path, required: Sequence[str], options: ReadOptions | None = None, report: ReadReport | None = None,
    optional: Sequence[str] = (),
) -> Iterator[_Row]:
    file = _open_table(path, required, options, report, optional)
    header = file.header
    try:
        for line, fields in file.records():
            yield _Row(path, line, dict(zip(header, fields)), file)
    except TextFileError as exc:
        raise PlanInputError(path, exc.line, f"unreadable CSV ({exc.problem})") from None


def _read_unique(
    path: Path, required: Sequence[str], parse: Callable[[_Row], T], key: Callable[[T], str],
    options: ReadOptions | None = None, report: ReadReport | None = None, optional: Sequence[str] = (),
) -> list[tuple[int, T]]:
    seen: dict[str, int] = {}
    items: list[tuple[int, T]] = []
    for row in _iter_rows(path, required, options, report, optional):
        item = parse(row)
        ident = key(item)
        if ident in seen:
            raise row.fail(f"duplicate id {ident!r} (first seen on line {seen[ident]}); ids must be unique")
        seen[ident] = row.line
        items.append((row.line, item))
    return items


def _target_weight(row: _Row) -> float:
    weight = row.number("target_weight", low=0.0, default=1.0)
    if weight <= 0:
        raise row.fail("column 'target_weight' must be > 0 (leave it empty for 1)")
    return weight


def _industries(row: _Row) -> frozenset[str]:
    return frozenset(part.strip() for part in row.text("industries").split(";") if part.strip())


def _parse_rep(row: _Row) -> PlanRep:
    industries = _industries(row)
    weight = _target_weight(row)
    return PlanRep(
        id=row.required_text("id"),
        name=row.text("name"),
        lat=row.number("lat", low=-90.0, high=90.0),
        lon=row.number("lon", low=-180.0, high=180.0),
        capacity=row.number("capacity", low=0.0),
        active=row.flag("active", default=True),
        industries=industries,
        target_weight=weight,
        mode=row.choice("mode", REP_MODES),
    )


def _parse_account(row: _Row) -> PlanAccount:
    return PlanAccount(
        id=row.required_text("id"),
        name=row.text("name"),
        owner_id=row.text("owner_id") or None,
        lat=row.number("lat", low=-90.0, high=90.0),
        lon=row.number("lon", low=-180.0, high=180.0),
        potential=row.number("potential", low=0.0),
        workload=row.number("workload", low=0.0),
        locked=row.flag("locked", default=False),
        industry=row.text("industry") or None,
        visit_mode=row.choice("visit_mode", VISIT_MODES),
        postal_code=row.text("postal_code") or None,
    )


def read_reps(
    path: str | Path, *, options: ReadOptions | None = None, report: ReadReport | None = None
) -> tuple[PlanRep, ...]:
    """Read reps.csv. Raises PlanInputError on any bad row, naming file and line.

    ``options`` say how the file is written (else detected); ``report`` collects notes.
    """
    path = Path(path)
    rows = _read_unique(path, REP_COLUMNS, _parse_rep, lambda r: r.id, options, report, REP_OPTIONAL)
    reps = tuple(rep for _, rep in rows)
    if not reps:
        raise PlanInputError(path, 0, "no reps found; add at least one row below the header")
    return reps


@dataclass(frozen=True)
class RepOverride:
    """One row of a homes file: the columns it gives for one rep (``values``: PlanRep fields)."""

    rep_id: str
    line: int
    values: Mapping[str, object]


_OVERRIDE_PARSERS: dict[str, Callable[[_Row], object]] = {
    "name": lambda row: row.text("name"),
    "lat": lambda row: row.number("lat", low=-90.0, high=90.0),
    "lon": lambda row: row.number("lon", low=-180.0, high=180.0),
    "capacity": lambda row: row.number("capacity", low=0.0),
    "active": lambda row: row.flag("active", default=True),
    "industries": _industries,
    "target_weight": _target_weight,
    "mode": lambda row: row.choice("mode", REP_MODES),
}


def read_rep_overrides(
    path: str | Path, *, options: ReadOptions | None = None, report: ReadReport | None = None
) -> dict[str, RepOverride]:
    """Read a homes file for store planning: ``id`` plus any reps.csv columns (``id,lat,lon``
    is enough). Empty cells keep the synced value; ``lat`` and ``lon`` come together."""
    path = Path(path)
    found: dict[str, RepOverride] = {}
    for row in _iter_rows(path, ("id",), options, report):
        rep_id = row.required_text("id")
        if rep_id in found:
            raise row.fail(f"duplicate id {rep_id!r} (first seen on line {found[rep_id].line}); ids must be unique")
        given = {column: parse(row) for column, parse in _OVERRIDE_PARSERS.items() if row.text(column)}
        if ("lat" in given) != ("lon" in given):
            raise row.fail("give both 'lat' and 'lon' for a home, or neither")
        found[rep_id] = RepOverride(rep_id, row.line, given)
    if not found:
        raise PlanInputError(path, 0, "no reps found; add at least one row below the header")
    return found


def read_accounts(
    path: str | Path, rep_ids: set[str] | None = None, reps_path: str | Path = "reps.csv", *,
    options: ReadOptions | None = None, report: ReadReport | None = None,
) -> tuple[PlanAccount, ...]:
    """Read accounts.csv; with ``rep_ids``, an owner id that is not a rep is an error.

    Args:
        path: The accounts file.
        rep_ids: Known rep ids; ``None`` skips the owner check.
        reps_path: Named in the message when an owner is unknown.
        options: How the file is written (None: detected).
        report: Collects notes (the encoding assumed) and missing optional columns.
    """
    path = Path(path)
    rows = _read_unique(path, ACCOUNT_COLUMNS, _parse_account, lambda a: a.id, options, report, ACCOUNT_OPTIONAL)
    if rep_ids is not None:
        for line, account in rows:
            if account.owner_id is not None and account.owner_id not in rep_ids:
                raise PlanInputError(
                    path,
                    line,
                    f"owner_id {account.owner_id!r} is not a rep in {reps_path}; "
                    "add the rep (active=false if departed) or clear the owner",
                )
    if not rows:
        raise PlanInputError(path, 0, "no accounts found; add at least one row below the header")
    return tuple(account for _, account in rows)


def read_instance(
    accounts_path: str | Path, reps_path: str | Path, *, options: ReadOptions | None = None,
    report: ReadReport | None = None,
) -> Instance:
    """Read both files into an Instance (reps first, so owners can be checked)."""
    reps = read_reps(reps_path, options=options, report=report)
    accounts = read_accounts(accounts_path, {r.id for r in reps}, reps_path, options=options, report=report)
    return Instance(accounts=accounts, reps=reps)


def write_plan(path: str | Path, plan: Plan) -> int:
    """Write plan.csv (one row per moved account); returns the number of rows."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PLAN_COLUMNS)
        for move in plan.moves:
            writer.writerow([move.account_id, move.from_owner_id or "", move.to_owner_id, move.reason])
    return len(plan.moves)


def write_instance(instance: Instance, accounts_path: str | Path, reps_path: str | Path) -> None:
    """Write an instance as accounts.csv + reps.csv (for demos, tests and benchmarks)."""
    with Path(reps_path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow((*REP_COLUMNS, *REP_OPTIONAL))
        for r in instance.reps:
            industries = ";".join(sorted(r.industries))
            writer.writerow(
                [r.id, r.name, r.lat, r.lon, r.capacity, str(r.active).lower(), industries, r.target_weight, r.mode]
            )
    with Path(accounts_path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow((*ACCOUNT_COLUMNS, *ACCOUNT_OPTIONAL))
        for a in instance.accounts:
            writer.writerow(
                [
                    a.id,
                    a.name,
                    a.owner_id or "",
                    a.lat,
                    a.lon,
                    a.potential,
                    a.workload,
                    str(a.locked).lower(),
                    a.industry or "",
                    a.visit_mode,
                    a.postal_code or "",
                ]
            )
