"""Drive-time matrix from the user's routing engine (OSRM, Valhalla, a maps API).

Format: ``rep_id,account_id,minutes`` or, keyed by postal code, ``rep_id,postal_code,minutes``
(a file with both columns uses ``account_id`` where it is filled). Read like every other
planner CSV (:mod:`territory.rules.text_files`); problems raise ``PlanInputError`` naming file
and line. An unknown rep id is an error (a typo would silently fall back to estimates);
rows for accounts or postal codes the instance does not have are counted and ignored.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from territory.planner.csv_io import PlanInputError, _iter_rows, _Row
from territory.planner.instance import Instance
from territory.rules.text_files import ReadOptions, ReadReport

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
    """Read a drive-time matrix for ``instance`` (see module docstring)."""
    path = Path(path)
    rep_ids = {r.id for r in instance.reps}
    account_ids = {a.id for a in instance.accounts}
    by_postal: dict[str, list[str]] = defaultdict(list)
    for account in instance.accounts:
        if account.postal_code:
            by_postal[account.postal_code].append(account.id)
    result = DriveTimes(source=str(path))
    seen: dict[tuple[str, str], int] = {}
    for row in _iter_rows(path, TRAVEL_TIME_COLUMNS, options, report, ("account_id", "postal_code")):
        result.rows += 1
        rep_id, key, targets = _row_targets(row, rep_ids, account_ids, by_postal)
        if (rep_id, key) in seen:
            raise row.fail(f"{rep_id} -> {key} appears twice (first on line {seen[(rep_id, key)]})")
        seen[(rep_id, key)] = row.line
        minutes = row.number("minutes", low=0.0)
        if not targets:
            result.ignored_rows += 1
        for account_id in targets:
            result.minutes.setdefault((rep_id, account_id), minutes)
    if not result.rows:
        raise PlanInputError(path, 0, "no drive times found; add rows below the header")
    return result


def _row_targets(
    row: _Row, rep_ids: set[str], account_ids: set[str], by_postal: dict[str, list[str]]
) -> tuple[str, str, list[str]]:
    """The row's rep, its key (account id or postal code) and the accounts it covers."""
    if "account_id" not in row.values and "postal_code" not in row.values:
        raise row.fail("needs an 'account_id' or a 'postal_code' column: rep_id,account_id,minutes")
    rep_id = row.required_text("rep_id")
    if rep_id not in rep_ids:
        raise row.fail(f"rep_id {rep_id!r} is not a rep of the plan; fix the id or drop the row")
    account_id = row.text("account_id")
    if account_id:
        return rep_id, account_id, [account_id] if account_id in account_ids else []
    postal = row.text("postal_code")
    if not postal:
        raise row.fail("both 'account_id' and 'postal_code' are empty; fill one")
    if not by_postal and postal:
        raise row.fail("the file is keyed by postal code but the accounts have none; add a postal_code "
                       "column to accounts.csv")
    return rep_id, f"postal {postal}", by_postal.get(postal, [])


def with_travel_times(instance: Instance, drive: DriveTimes) -> Instance:
    """The instance measuring travel by ``drive`` where it has figures."""
    travel = replace(instance.travel, minutes=drive.minutes, source=drive.source or instance.travel.source)
    return replace(instance, travel=travel)
