"""Drive-time matrix from the user's routing engine (OSRM, Valhalla, a maps API).

Format: ``rep_id,account_id,minutes`` or, keyed by postal code, ``rep_id,postal_code,minutes``
(a file with both columns uses ``account_id`` where it is filled). Read like every other
planner CSV (:mod:`territory.rules.text_files`); problems raise ``PlanInputError`` naming file
and line. An unknown rep id is an error (a typo would silently fall back to estimates);
rows for accounts or postal codes the instance does not have are counted and ignored.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from territory.planner.csv_io import PlanInputError, _open_table, _Row
from territory.planner.instance import Instance
from territory.rules.text_files import ReadOptions, ReadReport, TextFile, TextFileError

TRAVEL_TIME_COLUMNS = ("rep_id", "minutes")  # plus account_id or postal_code


@dataclass
class DriveTimes:
    """What a drive-time file gave: minutes per ``(rep_id, account_id)`` and what was ignored."""

    minutes: dict[tuple[str, str], float] = field(default_factory=dict)
    source: str = ""
    rows: int = 0
    ignored_rows: int = 0

    def notes(self, path: str | Path) -> list[str]:
        if not self.ignored_rows:
            return []
        return [f"{path}: {self.ignored_rows} of {self.rows} rows name accounts or postal codes the plan "
                "does not have; ignored"]


def read_travel_times(
    path: str | Path, instance: Instance, *, options: ReadOptions | None = None, report: ReadReport | None = None
) -> DriveTimes:
    """Read a drive-time matrix for ``instance`` (see module docstring).

    Rows keyed by a known rep and an account id take a fast path (matrices run to millions
    of rows); every other row is checked cell by cell so its error names the line.
    """
    path = Path(path)
    file = _open_table(path, TRAVEL_TIME_COLUMNS, options, report, ("account_id", "postal_code"))
    header = file.header
    if "account_id" not in header and "postal_code" not in header:
        raise PlanInputError(path, 1, "needs an 'account_id' or a 'postal_code' column: rep_id,account_id,minutes")
    targets = _Targets(instance)
    rep_at, minutes_at = header.index("rep_id"), header.index("minutes")
    account_at = header.index("account_id") if "account_id" in header else -1
    result = DriveTimes(source=str(path))
    seen: dict[tuple[str, str], int] = {}
    try:
        for line, fields in file.records():
            result.rows += 1
            rep_id, account_id = _cell(fields, rep_at), _cell(fields, account_at)
            minutes = _quick_minutes(file, line, _cell(fields, minutes_at))
            row = None
            if rep_id in targets.rep_ids and account_id and minutes is not None:
                key, covered = account_id, [account_id] if account_id in targets.account_ids else []
            else:  # the slow path raises with the line, or reads a postal-code row
                row = _Row(path, line, dict(zip(header, fields, strict=False)), file)
                rep_id, key, covered = targets.of_row(row)
                minutes = row.number("minutes", low=0.0)
            if (rep_id, key) in seen:
                raise PlanInputError(path, line, f"{rep_id} -> {key} appears twice (first on line {seen[(rep_id, key)]})")
            seen[(rep_id, key)] = line
            result.ignored_rows += not covered
            for account in covered:
                result.minutes.setdefault((rep_id, account), minutes)
    except TextFileError as exc:
        raise PlanInputError(path, exc.line, f"unreadable CSV ({exc.problem})") from None
    if not result.rows:
        raise PlanInputError(path, 0, "no drive times found; add rows below the header")
    return result


def _cell(fields: list[str], at: int) -> str:
    return fields[at].strip() if 0 <= at < len(fields) else ""


def _quick_minutes(file: TextFile, line: int, raw: str) -> float | None:
    """The minutes when they read cleanly as a number >= 0, else None (the slow path says why)."""
    try:
        value = file.parse_number(raw, line=line, column="minutes")
    except TextFileError:
        return None
    return value if value is not None and math.isfinite(value) and value >= 0 else None


class _Targets:
    """Which accounts a row's key covers: rep ids, account ids and accounts by postal code."""

    def __init__(self, instance: Instance) -> None:
        self.rep_ids = {r.id for r in instance.reps}
        self.account_ids = {a.id for a in instance.accounts}
        self.by_postal: dict[str, list[str]] = defaultdict(list)
        for account in instance.accounts:
            if account.postal_code:
                self.by_postal[account.postal_code].append(account.id)

    def of_row(self, row: _Row) -> tuple[str, str, list[str]]:
        """The row's rep, its key (account id or postal code) and the accounts it covers."""
        rep_id = row.required_text("rep_id")
        if rep_id not in self.rep_ids:
            raise row.fail(f"rep_id {rep_id!r} is not a rep of the plan; fix the id or drop the row")
        account_id = row.text("account_id")
        if account_id:
            return rep_id, account_id, [account_id] if account_id in self.account_ids else []
        postal = row.text("postal_code")
        if not postal:
            raise row.fail("both 'account_id' and 'postal_code' are empty; fill one")
        if not self.by_postal:
            raise row.fail("the file is keyed by postal code but the accounts have none; add a postal_code "
                           "column to accounts.csv")
        return rep_id, f"postal {postal}", self.by_postal.get(postal, [])


def with_travel_times(instance: Instance, drive: DriveTimes) -> Instance:
    """The instance measuring travel by ``drive`` where it has figures."""
    travel = replace(instance.travel, minutes=drive.minutes, source=drive.source or instance.travel.source)
    return replace(instance, travel=travel)
