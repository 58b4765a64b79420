"""Approval-loop benchmark: API calls per 1,000 applied moves against the floor, both CRMs.

Usage::

    .venv/bin/python bench/approval.py                  # 1,000 moves on a 3,000-account book
    .venv/bin/python bench/approval.py --moves 2000 --accounts 5000 --crm hubspot

Per CRM the emulator runs in this process: sync into a throwaway SQLite store, install, save
a scenario of ``--moves`` moves, publish it, have each approving manager approve in the CRM's
UI, then time ``territory apply``'s work (decision polling + apply). The emulator counts the
API calls (reading decisions and the write-back are counted apart). The floor is the write calls the four steps need at the CRMs' batch sizes
(Salesforce Collections 200 records per call, HubSpot batches 100): owner change, audit note
and proposal status once per batch each, plus the child moves when there are children.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from a checkout

from territory import rules  # noqa: E402
from territory.cli.shared import approvers_yaml  # noqa: E402
from territory.config import load_settings  # noqa: E402
from territory.connector.factory import build_connector  # noqa: E402
from territory.emulator import start_emulator  # noqa: E402
from territory.sync import open_store, run_sync  # noqa: E402
from territory.sync.apply import apply_approved  # noqa: E402
from territory.sync.decisions import poll_decisions  # noqa: E402
from territory.sync.proposals import People, list_proposals, propose  # noqa: E402
from territory.sync.scenarios import MoveInput  # noqa: E402

BATCH = {"salesforce": 200, "hubspot": 100}


def _moves(store: Any, crm: str, people: People, count: int) -> list[MoveInput]:
    reps = sorted(people.active_reps)
    moves: list[MoveInput] = []
    for row in store.iter_records("accounts", crm=crm):
        owner = row["owner_id"]
        if row["is_deleted"] or owner not in reps:
            continue
        step = 1 + len(moves) % (len(reps) - 1)  # every other rep in turn, never the owner
        moves.append(MoveInput(row["id"], owner, reps[(reps.index(owner) + step) % len(reps)], "balance potential"))
        if len(moves) == count:
            break
    return moves


def run(crm: str, accounts: int, count: int, folder: Path) -> dict[str, Any]:
    with start_emulator(accounts=accounts, seed=7, malformed=False) as emu:
        env = {k.lower(): v for k, v in emu.env(crm).items() if k != "TERRITORY_EMULATOR_URL"}
        settings = load_settings(env_file=None, territory_db_url=f"sqlite:///{folder / f'{crm}.db'}", **env)
        store = open_store(settings.territory_db_url)
        connector = build_connector(settings)
        run_sync(connector, store)
        rules_path = folder / f"{crm}.yaml"
        rules_path.write_text("version: 1\n" + approvers_yaml(emu.control.records("owners"), crm), encoding="utf-8")
        config = rules.load_rules(rules_path)
        people = People(store, crm, config)
        connector.install(dry_run=False, approvers=people.approver_ids())
        moves = _moves(store, crm, people, count)
        store.scenarios.save("bench", {}, {}, moves)
        calls = emu.server.state.api_calls.get(crm, 0)
        propose(store, connector, "bench", config)
        propose_calls = emu.server.state.api_calls.get(crm, 0) - calls
        for row in list_proposals(store, crm, scenario="bench"):
            edit = connector.status_edit(row.crm_record_id, "Approved")
            emu.control.ui_edit(crm, edit.object, edit.record_id, row.approver_id or "", edit.fields)
        calls, started = emu.server.state.api_calls.get(crm, 0), time.perf_counter()
        poll_decisions(store, connector, config)
        poll_calls = emu.server.state.api_calls.get(crm, 0) - calls
        report = apply_approved(store, connector, config)
        apply_calls = emu.server.state.api_calls.get(crm, 0) - calls - poll_calls
        seconds = time.perf_counter() - started
        store.close()
    batches = math.ceil(report.applied / BATCH[crm])
    floor = 3 * batches + (batches if report.contacts_moved or report.opportunities_moved else 0)
    return {"crm": crm, "moves": len(moves), "applied": report.applied, "audit_notes": report.audit_notes,
            "propose_calls": propose_calls, "poll_calls": poll_calls, "apply_calls": apply_calls, "write_floor": floor,
            "per_1000": round(apply_calls * 1000 / max(1, report.applied), 1),
            "floor_per_1000": round(floor * 1000 / max(1, report.applied), 1), "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--moves", type=int, default=1000)
    parser.add_argument("--crm", choices=("salesforce", "hubspot", "both"), default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for crm in (("salesforce", "hubspot") if args.crm == "both" else (args.crm,)):
            r = run(crm, args.accounts, args.moves, Path(folder))
            print(f"{r['crm']}: {r['applied']} applied, {r['audit_notes']} notes; write-back {r['apply_calls']} API "
                  f"calls = {r['per_1000']} per 1,000 moves (write floor {r['floor_per_1000']} per 1,000: "
                  f"{r['apply_calls'] / max(1, r['write_floor']):.2f} x); reading decisions {r['poll_calls']} calls; "
                  f"publishing {r['propose_calls']} calls; {r['seconds']} s (shared machine)")


if __name__ == "__main__":
    main()
