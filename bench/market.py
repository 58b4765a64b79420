"""Market matching benchmark: 100,000 planted prospects against 100,000 CRM accounts.

Prints generation and matching seconds, matches per method, precision and recall against
the planted truth (``emulator/prospects.py``). Run: ``.venv/bin/python bench/market.py``.
"""

from __future__ import annotations

import argparse
import time

from territory.emulator.prospects import planted_market
from territory.rules.market.matching import Party, match_prospects, summarize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    market = planted_market(args.size, args.size, seed=args.seed)
    generated = time.perf_counter() - started
    accounts = [Party(str(a["id"]), str(a["name"]), a["domain"], a["postal_code"], a["city"], a["country"]) for a in market.accounts]  # type: ignore[arg-type]
    prospects = [Party(str(p["id"]), str(p["name"]), p["domain"], p["postal_code"], p["city"], p["country"]) for p in market.prospects]  # type: ignore[arg-type]
    started = time.perf_counter()
    results = match_prospects(prospects, accounts)
    seconds = time.perf_counter() - started
    tp = sum(1 for r in results if r.account_id and r.account_id in market.truth[r.prospect_key])
    fp = sum(1 for r in results if r.account_id and r.account_id not in market.truth[r.prospect_key])
    fn = sum(1 for r in results if not r.account_id and market.truth[r.prospect_key])
    print(f"{len(prospects):,} prospects x {len(accounts):,} accounts (seed {args.seed}); generated in {generated:.1f} s")
    print(f"matched in {seconds:.1f} s: {summarize(results)}")
    print(f"precision {tp / max(1, tp + fp):.4f}  recall {tp / max(1, tp + fn):.4f}  (tp {tp}, fp {fp}, fn {fn})")


if __name__ == "__main__":
    main()
