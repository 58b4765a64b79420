"""CSV adapters for the CLI: accounts, opportunities, reps in; decisions out.

Contracts (extra columns are ignored, missing optional columns are empty):

- accounts.csv: ``id,name,owner_id,country,postal_code,industry,employees,annual_revenue,
  domain,sourcing_rep_id,partner_id`` (only ``id`` is required)
- opportunities.csv: ``id,account_id,owner_id,amount,stage,is_closed``
- reps.csv: ``id,name,active`` plus optional ``capacity,is_partner``; the planner's shape
  ``id,name,lat,lon,capacity,active,industries[,target_weight]`` is accepted as is
- decisions.csv: ``account_id,current_owner_id,expected_owner_id,territory_ids,status,reason``
  (``territory_ids`` separated by ``;``), one row per input account, in input order
"""

from __future__ import annotations

import csv
import io
from itertools import chain
from pathlib import Path

import numpy as np

from territory.rules.book import OpportunityTable
from territory.rules.csv_columns import CsvColumns, parse_booleans, read_csv_file
from territory.rules.errors import CsvInputError
from territory.rules.facts import Outcome
from territory.rules.outcomes import Evaluation
from territory.rules.records import Rep
from territory.rules.table import AccountTable, factorize, gc_paused
from territory.rules.text_files import ReadOptions, ReadReport

ACCOUNT_COLUMNS = ("id", "name", "owner_id", "country", "postal_code", "industry", "employees", "annual_revenue", "domain", "sourcing_rep_id", "partner_id")
OPPORTUNITY_COLUMNS = ("id", "account_id", "owner_id", "amount", "stage", "is_closed")
REP_COLUMNS = ("id", "name", "active", "capacity", "is_partner")
_WRITE_BLOCK = 65_536
_NEEDS_QUOTES = np.zeros(256, dtype=bool)
_NEEDS_QUOTES[list(b',"\n\r')] = True
DECISION_COLUMNS = ("account_id", "current_owner_id", "expected_owner_id", "territory_ids", "status", "reason")


def _read(path: str | Path, wanted: tuple[str, ...], required: tuple[str, ...], options: ReadOptions | None,
          report: ReadReport | None) -> CsvColumns:
    found = read_csv_file(path, wanted, required, options)
    if report is not None:
        report.add(found.source, found.notes, found.header, [c for c in wanted if c not in required])
    return found


def read_accounts_csv(path: str | Path, *, with_names: bool = False, options: ReadOptions | None = None,
                      report: ReadReport | None = None) -> AccountTable:
    """Accounts from CSV as a table. Raises :class:`CsvInputError` on bad input.

    Names are only needed for display (``explain``); skipping them saves time on big files.
    ``options`` say how the file is written (else detected); ``report`` collects notes and
    the optional columns the file lacks.
    """
    source = str(path)
    wanted = ACCOUNT_COLUMNS if with_names else tuple(c for c in ACCOUNT_COLUMNS if c != "name")
    found = _read(path, wanted, ("id",), options, report)
    columns = found.columns
    ids = columns["id"]
    empty = np.flatnonzero(ids == b"")
    if len(empty):
        raise CsvInputError(source, int(empty[0]) + 2, "empty id: every account needs an id")
    table = AccountTable.from_byte_columns(columns, found.numbers("employees"), found.numbers("annual_revenue"))
    _reject_duplicate_ids(source, table)
    return table


def _reject_duplicate_ids(source: str, table: AccountTable) -> None:
    """Two rows with one id would give two decisions for one account: name the second."""
    sorted_keys, _ = table.id_index()
    if not np.any(sorted_keys[1:] == sorted_keys[:-1]):
        return
    seen: dict[bytes, int] = {}
    for row, account_id in enumerate(table.ids.tolist()):
        if account_id in seen:
            text = account_id.decode("utf-8", "replace")
            raise CsvInputError(source, row + 2, f"duplicate id {text!r} (also on line {seen[account_id] + 2}); keep one row per account")
        seen[account_id] = row


def read_opportunities_csv(path: str | Path, *, options: ReadOptions | None = None,
                           report: ReadReport | None = None) -> OpportunityTable:
    """Opportunities from CSV. ``id`` and ``account_id`` are required."""
    source = str(path)
    found = _read(path, OPPORTUNITY_COLUMNS, ("id", "account_id"), options, report)
    columns = found.columns
    count = len(columns["id"])
    blank = np.zeros(count, dtype="S1")
    return OpportunityTable(
        ids=columns["id"],
        account_ids=columns["account_id"],
        owner=factorize(columns.get("owner_id", blank)),
        amount=found.numbers("amount"),
        stage=factorize(columns.get("stage", blank)),
        is_closed=parse_booleans(source, "is_closed", columns.get("is_closed", blank), default=False),
    )


def read_reps_csv(path: str | Path, *, options: ReadOptions | None = None, report: ReadReport | None = None) -> list[Rep]:
    """Reps from CSV (ours or the planner's shape). ``active`` defaults to true."""
    source = str(path)
    found = _read(path, REP_COLUMNS, ("id",), options, report)
    columns = found.columns
    count = len(columns["id"])
    blank = np.zeros(count, dtype="S1")
    active = parse_booleans(source, "active", columns.get("active", blank), default=True)
    partner = parse_booleans(source, "is_partner", columns.get("is_partner", blank), default=False)
    capacity = found.numbers("capacity")
    names = columns.get("name", blank)
    reps = []
    for row, rep_id in enumerate(columns["id"].tolist()):
        if not rep_id.strip():
            raise CsvInputError(source, row + 2, "empty id: every rep needs an id")
        cap = float(capacity[row])
        reps.append(Rep(rep_id.decode().strip(), names[row].decode("utf-8", "replace"), bool(active[row]), None if np.isnan(cap) else cap, bool(partner[row])))
    return reps


def _csv_field(text: str) -> str:
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def write_decisions_csv(path: str | Path, evaluation: Evaluation) -> None:
    """Write decisions.csv in input order.

    Each distinct outcome's tail (everything after the current owner) and each owner's
    field are formatted once; a row is its id, its owner field and its outcome's tail.
    """
    tails = np.array([_outcome_tail(o) for o in evaluation.outcomes], dtype=object)
    facts = evaluation.facts
    owners = np.array([b","] + [("," + _csv_field(rep)).encode("utf-8") for rep in facts.rep_labels], dtype=object)
    ids = facts.table.ids
    quote_ids = bool(len(ids)) and bool(_NEEDS_QUOTES[ids.view(np.uint8)].any())
    header = (",".join(DECISION_COLUMNS) + "\n").encode()
    with open(path, "wb") as handle, gc_paused():
        handle.write(header)
        # Block by block: whole-file lists and one giant bytes object would touch a lot of
        # fresh memory, which is slow on some virtual machines.
        for start in range(0, len(ids), _WRITE_BLOCK):
            rows = slice(start, start + _WRITE_BLOCK)
            id_list = ids[rows].tolist()
            if quote_ids:
                id_list = [_csv_field(i.decode("utf-8")).encode("utf-8") for i in id_list]
            owner_list = owners[facts.owner[rows] + 1].tolist()
            tail_list = tails[evaluation.outcome_of_row[rows]].tolist()
            handle.write(b"".join(chain.from_iterable(zip(id_list, owner_list, tail_list))))


def _outcome_tail(outcome: Outcome) -> bytes:
    fields = (outcome.expected_owner_id or "", ";".join(outcome.territory_ids), outcome.status.value, outcome.reason)
    return ("," + ",".join(_csv_field(f) for f in fields) + "\n").encode("utf-8")


def decisions_to_csv_text(evaluation: Evaluation) -> str:
    """decisions.csv as text via the csv module (small outputs, tests)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DECISION_COLUMNS)
    for d in evaluation.decisions():
        writer.writerow([d.account_id, d.current_owner_id or "", d.expected_owner_id or "", ";".join(d.territory_ids), d.status.value, d.reason])
    return buffer.getvalue()
