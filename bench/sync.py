"""Sync benchmark: the real connectors against the built-in emulator, for both CRMs.

Usage::

    .venv/bin/python bench/sync.py                      # 100k accounts, 300 owners, 20k opps
    .venv/bin/python bench/sync.py --accounts 20000 --crm hubspot --db-url postgresql+psycopg://...

The emulator runs in this process; every sync runs as ``territory sync --json`` in a child
process, so wall time and peak memory (``VmHWM`` of that child) belong to the sync alone
(interpreter start-up and imports included). Per CRM, three runs share one store:

1. initial sync of everything;
2. incremental after ~1% of accounts and opportunities change (``emulator.mutate_state``);
3. incremental with no changes.

API calls are compared with the floor: Salesforce ``ceil(N/2000)`` query pages per object,
HubSpot ``ceil(N/100)`` list pages per object. Goals: initial calls <= 1.05 x floor, a
no-change incremental <= 2 calls per object, initial sync < 60 s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from a checkout

from territory.emulator import start_emulator  # noqa: E402

PAGE = {"salesforce": 2000, "hubspot": 100}
GOAL_CALL_RATIO, GOAL_NOOP_CALLS_PER_OBJECT, GOAL_INITIAL_SECONDS = 1.05, 2, 60.0
# Peak memory is VmHWM of the child's own address space: ru_maxrss would also count the
# parent's (the emulator's) memory, which a forked child inherits as its high-water mark.
CHILD = (
    "import atexit, sys\n"
    "def _peak():\n"
    "    with open('/proc/self/status') as f:\n"
    "        kib = [l.split()[1] for l in f if l.startswith('VmHWM:')][0]\n"
    "    sys.stderr.write(f'\\nPEAK_RSS_KIB={kib}\\n')\n"
    "atexit.register(_peak)\n"
    "sys.argv = ['territory', 'sync', '--json']\n"
    "from territory.cli.main import main\n"
    "main()\n"
)


def floor_calls(crm: str, counts: dict[str, int]) -> int:
    """Fewest read calls that can return ``counts`` records per object."""
    return sum(max(1, math.ceil(n / PAGE[crm])) for n in counts.values())


def run_child_sync(env: dict[str, str]) -> dict[str, Any]:
    """``territory sync --json`` in a child; its summary plus wall time and peak RSS."""
    started = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                           text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - started
    out, err = child.stdout, child.stderr
    if child.returncode not in (0, 4):
        raise SystemExit(f"territory sync failed (exit {child.returncode}):\n{err}")
    peak_line = [line for line in err.splitlines() if line.startswith("PEAK_RSS_KIB=")][-1]
    peak_mib = int(peak_line.split("=")[1]) / 1024.0  # Linux reports KiB
    summary = json.loads(out)
    summary.update(wall_s=round(wall, 2), peak_rss_mib=round(peak_mib, 1), exit=child.returncode)
    return summary


def bench_crm(crm: str, emu: Any, db_url: str) -> list[dict[str, Any]]:
    """Initial, 1% incremental and no-change incremental for one CRM."""
    env = {**os.environ, **emu.env(crm), "TERRITORY_DB_URL": db_url}
    env.pop("TERRITORY_EMULATOR_URL", None)
    status = emu.control.status()["counts"]
    counts = {"owners": status["owners"]["total"], "accounts": status["accounts"]["total"],
              "opportunities": status["opportunities"]["total"]}
    rows = []
    initial = run_child_sync(env)
    rows.append(_row(crm, "initial", initial, floor_calls(crm, counts)))
    report = emu.control.mutate(fraction=0.01, seed=11)
    changed = {"owners": 0, "accounts": sum(report["accounts"].values()),
               "opportunities": sum(report["opportunities"].values())}
    rows.append(_row(crm, "incremental 1%", run_child_sync(env), floor_calls(crm, changed)))
    rows.append(_row(crm, "incremental none", run_child_sync(env), 3))
    return rows


def _row(crm: str, phase: str, summary: dict[str, Any], floor: int) -> dict[str, Any]:
    return {
        "crm": crm, "phase": phase, "wall_s": summary["wall_s"],
        "sync_s": summary["elapsed_s"], "peak_rss_mib": summary["peak_rss_mib"],
        "fetched": summary["fetched"], "inserted": summary["inserted"],
        "updated": summary["updated"], "deleted": summary["deleted"],
        "skipped": summary["skipped"], "api_calls": summary["api_calls"], "floor": floor,
        "ratio": round(summary["api_calls"] / floor, 3) if floor else None,
    }


def _verdicts(rows: list[dict[str, Any]]) -> list[str]:
    lines = []
    for row in rows:
        if row["phase"] == "initial":
            ok = row["ratio"] <= GOAL_CALL_RATIO and row["sync_s"] < GOAL_INITIAL_SECONDS
            lines.append(f"{row['crm']} initial: calls {row['api_calls']} vs floor {row['floor']} "
                         f"(x{row['ratio']}), {row['sync_s']} s -> {'PASS' if ok else 'MISS'}")
        if row["phase"] == "incremental none":
            ok = row["api_calls"] <= GOAL_NOOP_CALLS_PER_OBJECT * 3
            lines.append(f"{row['crm']} no-change incremental: {row['api_calls']} calls for 3 "
                         f"objects -> {'PASS' if ok else 'MISS'}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--owners", type=int, default=300)
    parser.add_argument("--opportunities", type=int, default=20_000)
    parser.add_argument("--crm", choices=["salesforce", "hubspot", "both"], default="both")
    parser.add_argument("--db-url", help="store URL (default: a fresh SQLite file per CRM)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    crms = ["salesforce", "hubspot"] if args.crm == "both" else [args.crm]
    rows: list[dict[str, Any]] = []
    for crm in crms:
        started = time.perf_counter()
        with start_emulator(accounts=args.accounts, owners=args.owners,
                            opportunities=args.opportunities, seed=7) as emu:
            print(f"{crm}: emulator seeded in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr)
            with tempfile.TemporaryDirectory() as folder:
                rows += bench_crm(crm, emu, args.db_url or f"sqlite:///{folder}/bench.db")
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    columns = list(rows[0])
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(str(row[c]) for c in columns))
    print("\n".join(_verdicts(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
