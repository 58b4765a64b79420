"""Report benchmark: a large synced book, `territory report` on it, and the page in Chromium.

Usage::

    .venv/bin/python bench/report.py                         # 100k accounts, 300 owners
    .venv/bin/python bench/report.py --accounts 20000 --crm hubspot --plan-seconds 0

Builds the store the way a user does: the emulator is seeded (plus ``--closed`` won/lost
opportunities created through its control API, so win rates have data), ``territory sync``
reads it through the real connector, the rules are drafted from the book, and a scenario is
saved (``territory plan --time-limit S``; with ``--plan-seconds 0`` a seeded 5% of accounts
move to another active rep instead, saved as the planner saves its moves). None of that is
timed. Then:

1. ``territory report --scenario --json`` runs in a child process: its wall time (interpreter
   start, store reads, rules, figures, charts, writing) is the figure; goal < 30 s;
2. the page opens in a fresh headless Chromium (over the DevTools pipe): the time from
   starting the browser to the page's load event and a first screenshot, and the load event
   alone in an already running browser; goal < 5 s; every request it made is listed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from a checkout

from territory import rules  # noqa: E402
from territory.emulator import start_emulator  # noqa: E402
from territory.rules.health import Quarter  # noqa: E402
from territory.sync import open_store  # noqa: E402
from territory.sync.draft_rules import draft_rules_yaml  # noqa: E402
from territory.sync.report.browser import Browser, find_chromium  # noqa: E402
from territory.sync.scenarios import MoveInput  # noqa: E402

GOAL_REPORT_S, GOAL_OPEN_S = 30.0, 5.0


def territory(env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``territory ARGS`` in a child process; its wall time and result."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "territory.cli.main", *args], env=env, capture_output=True,
                          text=True, cwd=ROOT, check=False)
    if done.returncode not in (0, 4):
        raise SystemExit(f"territory {' '.join(args)} failed (exit {done.returncode}):\n{done.stderr}{done.stdout}")
    return time.perf_counter() - started, done


def add_closed_deals(emu: Any, count: int, seed: int) -> date:
    """``count`` won/lost opportunities on random owned accounts; returns the last close date."""
    rng = random.Random(seed)
    accounts = [a for a in emu.control.records("accounts", include_deleted=False) if a["owner_n"]]
    last = date.min
    for k in range(count):
        account = rng.choice(accounts)
        created = emu.control.create("opportunity", {
            "name": f"Closed deal {k}", "account_n": account["n"], "owner_n": account["owner_n"],
            "amount": round(rng.lognormvariate(10, 1), -2), "stage": rng.choice(["Closed Won", "Closed Lost"]),
            "close_date": "2000-01-01"})
        closes = datetime.fromisoformat(created["created_at"].replace("Z", "+00:00")).date()
        closes += timedelta(days=rng.randint(0, 120))
        emu.control.update("opportunity", created["n"], {"close_date": closes.isoformat()})
        last = max(last, closes)
    return last


def save_seeded_scenario(db_url: str, crm: str, name: str, share: float, seed: int) -> int:
    """A scenario moving ``share`` of the accounts to another active rep (the planner's shape)."""
    store = open_store(db_url)
    try:
        active = [r["id"] for r in store.iter_records("owners", crm=crm) if r["is_active"]]
        rng = random.Random(seed)
        moves = []
        for row in store.iter_records("accounts", crm=crm):
            if rng.random() < share:
                target = rng.choice([rep for rep in active if rep != row["owner_id"]])
                moves.append(MoveInput(account_id=row["id"], from_owner_id=row["owner_id"], to_owner_id=target,
                                       reason=f"{row['owner_id']} is over the potential target; {target} is under target"))
        store.scenarios.save(name, {"seeded": True, "share": share}, {"moves": len(moves)}, moves)
        return len(moves)
    finally:
        store.close()


def build_store(args: argparse.Namespace, folder: Path) -> tuple[dict[str, str], Quarter, dict[str, Any]]:
    """Seed, sync, draft rules, save the scenario; the environment for the CLI and what was built."""
    facts: dict[str, Any] = {}
    started = time.perf_counter()
    with start_emulator(accounts=args.accounts, owners=args.owners, opportunities=args.opportunities, seed=7) as emu:
        last_close = add_closed_deals(emu, args.closed, seed=3)
        facts["seed_s"] = round(time.perf_counter() - started, 1)
        env = {**os.environ, **emu.env(args.crm), "TERRITORY_DB_URL": f"sqlite:///{folder / 'bench.db'}",
               "TERRITORY_RULES": str(folder / "territory.yaml"), "HUBSPOT_PORTAL_ID": "4711"}
        env.pop("TERRITORY_EMULATOR_URL", None)
        facts["sync_s"] = round(territory(env, "sync")[0], 1)
    env.pop("TERRITORY_CA_FILE", None)  # the emulator (and its CA file) is gone: the rest reads the store
    store = open_store(env["TERRITORY_DB_URL"])
    (folder / "territory.yaml").write_text(draft_rules_yaml(store, args.crm), encoding="utf-8")
    rules.load_rules(folder / "territory.yaml")
    store.close()
    if args.plan_seconds > 0:
        seconds, _ = territory(env, "plan", "--scenario", "bench", "--time-limit", str(args.plan_seconds),
                               "--out", str(folder / "plan.csv"))
        facts["plan_s"] = round(seconds, 1)
    else:
        facts["seeded_moves"] = save_seeded_scenario(env["TERRITORY_DB_URL"], args.crm, "bench", 0.05, seed=5)
    return env, Quarter.of(last_close), facts


def open_in_chromium(page: Path) -> dict[str, Any]:
    """Cold: browser start -> load event -> screenshot. Warm: load event in the running browser."""
    started = time.perf_counter()
    with Browser(width=1440, height=1000) as browser:
        load = browser.load(page.resolve().as_uri(), settle=0.0)
        browser.screenshot(page.with_suffix(".png"))
        cold = time.perf_counter() - started
        warm = browser.load(page.resolve().as_uri(), settle=0.5)
        svgs = browser.evaluate("document.querySelectorAll('svg').length")
    outside = [u for u in warm.requests if u != warm.url and not u.startswith("data:")]
    return {"open_cold_s": round(cold, 2), "load_event_cold_s": round(load.seconds, 2),
            "load_event_warm_s": round(warm.seconds, 2), "svg_charts": svgs, "network_requests": outside}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures (or JSON)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--owners", type=int, default=300)
    parser.add_argument("--opportunities", type=int, default=20_000)
    parser.add_argument("--closed", type=int, default=5_000, help="won/lost opportunities to add")
    parser.add_argument("--crm", choices=["salesforce", "hubspot"], default="salesforce")
    parser.add_argument("--plan-seconds", type=float, default=60.0, help="planner time limit; 0 = seeded moves")
    parser.add_argument("--keep", type=Path, help="keep the store, page and JSON in this folder")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if find_chromium() is None:
        raise SystemExit("Chromium not found: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        env, quarter, facts = build_store(args, folder)
        page = folder / "report.html"
        seconds, _ = territory(env, "report", "--scenario", "bench", "--quarter", quarter.label,
                               "--out", str(page), "--json", str(folder / "report.json"))
        figures = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        result = {"crm": args.crm, "accounts": figures["team"]["accounts"], "reps": figures["team"]["listed_reps"],
                  **facts, "report_s": round(seconds, 2), "page_kib": round(page.stat().st_size / 1024),
                  "json_kib": round((folder / "report.json").stat().st_size / 1024),
                  "moves": figures["scenario"]["moves"], **open_in_chromium(page)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
        print(f"report {result['report_s']} s (goal < {GOAL_REPORT_S:g} s) -> "
              f"{'PASS' if result['report_s'] < GOAL_REPORT_S else 'MISS'}; page opens in {result['open_cold_s']} s "
              f"cold (goal < {GOAL_OPEN_S:g} s) -> {'PASS' if result['open_cold_s'] < GOAL_OPEN_S else 'MISS'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
