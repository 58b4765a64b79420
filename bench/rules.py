"""Benchmark: rules evaluation at scale (default 1,000,000 accounts x 500 territories).

Generates a rules file (postal-code, industry and size territories mixed, 1,000 named
accounts, channel rules), accounts.csv, opps.csv and reps.csv, then prints:

(a) evaluation time, excluding CSV parsing (goal <= 10 s),
(b) the time to merely read the input CSVs with a plain ``csv`` module pass,
(c) the CLI end to end (``territory rules evaluate``, a fresh process; goal <= 3 x (b)).

Usage: ``python bench/rules.py [--accounts N] [--territories T] [--dir PATH] [--keep]``
"""

from __future__ import annotations

import argparse
import csv
import gc
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

# This file is named rules.py; keep its folder off the path so `import rules` finds the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

ROUNDS = 3
COUNTRIES = ["DE", "AT", "CH", "FR", "NL", "PL", "IT", "ES"]
INDUSTRIES = ["MedTech", "Automotive", "Chemicals", "Software", "Food", "Energy", "Packaging", "Plastics", "Electronics", "Metal", "Logistics", "Pharma", "Textiles", "Retail", "Construction", "Aerospace", "Agriculture", "Banking", "Insurance", "Telecom"]


def build_rules(territories: int, named: int, account_count: int, rng: np.random.Generator) -> tuple[dict, list[str]]:
    """A rules document and the rep ids. About 70% geographic, 18% vertical, 12% size."""
    geo = int(territories * 0.7)
    vertical = int(territories * 0.18)
    size = territories - geo - vertical
    reps = [f"REP{i:04d}" for i in range(territories + 20)]
    docs: list[dict] = []
    per_country = np.array_split(np.arange(geo), len(COUNTRIES))
    for country, chunk in zip(COUNTRIES, per_country):
        bounds = np.linspace(0, 1000, len(chunk) + 1).astype(int)  # 3-digit prefix ranges
        for slot, (low, high) in enumerate(zip(bounds[:-1], bounds[1:])):
            index = int(chunk[slot])
            ranges = [f"{low:03d}-{high - 1:03d}"] if high - 1 > low else [f"{low:03d}"]
            docs.append({"id": f"GEO-{country}-{slot:03d}", "owner": reps[index], "match": {"country": [country], "postal_code": ranges}})
    for slot in range(vertical):
        index = geo + slot
        industry = INDUSTRIES[slot % len(INDUSTRIES)]
        countries = [COUNTRIES[(slot // len(INDUSTRIES) + k) % len(COUNTRIES)] for k in range(2)]
        docs.append({"id": f"VERT-{industry}-{slot:03d}", "owner": reps[index], "priority": 10, "match": {"industry": [industry], "country": countries, "employees": {"min": 500}}})
    for slot in range(size):
        index = geo + vertical + slot
        country = COUNTRIES[slot % len(COUNTRIES)]
        low = 50_000_000 * (1 + slot // len(COUNTRIES))
        docs.append({"id": f"SIZE-{country}-{slot:03d}", "owner": reps[index], "priority": 5, "match": {"country": [country], "annual_revenue": {"min": low, "max": low * 4}}})
    named_rows = rng.choice(account_count, size=min(named, account_count), replace=False)
    named_entries = []
    for k, row in enumerate(sorted(named_rows.tolist())):
        owner = reps[int(rng.integers(len(reps)))]
        entry = {"account": f"ACC-{row:07d}"} if k % 10 else {"domain": f"c{row}.example"}
        named_entries.append({**entry, "owner": owner})
    rules = {
        "version": 1,
        "territories": docs,
        "named_accounts": named_entries,
        "channels": {"partner_led": {"match": {"employees": {"max": 4}}}, "direct_only": {"match": {"industry": ["Banking"]}}},
        "partner_reps": reps[-5:],
        "tiebreakers": ["named_account", "priority", "sourcing_rep", "billing_territory", "lowest_load"],
        "grandfather_open_opportunities": True,
    }
    return rules, reps


def write_inputs(folder: Path, accounts: int, territories: int, seed: int = 7) -> dict[str, Path]:
    """Write territory.yaml, accounts.csv, opps.csv, reps.csv into ``folder``."""
    rng = np.random.default_rng(seed)
    rules, reps = build_rules(territories, 1000, accounts, rng)
    paths = {name: folder / name for name in ("territory.yaml", "accounts.csv", "opps.csv", "reps.csv")}
    paths["territory.yaml"].write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
    country = rng.integers(len(COUNTRIES), size=accounts)
    postal = rng.integers(100_000, size=accounts)
    industry = rng.integers(len(INDUSTRIES), size=accounts)
    employees = np.round(rng.lognormal(4.0, 1.6, size=accounts)).astype(int) + 1
    revenue = np.round(rng.lognormal(16.0, 1.8, size=accounts)).astype(np.int64)
    geo_owner = _geo_owner_lookup(rules, reps)
    owner_index = geo_owner[country, postal // 100]
    shuffle = rng.random(accounts) < 0.12  # grown, stale ownership
    owner_index[shuffle] = rng.integers(len(reps), size=int(shuffle.sum()))
    owner_index[rng.random(accounts) < 0.01] = -1
    domain_of = np.arange(accounts)
    dupes = rng.random(accounts) < 0.005
    domain_of[dupes] = rng.integers(accounts, size=int(dupes.sum()))
    sourcing = np.where(rng.random(accounts) < 0.1, rng.integers(len(reps), size=accounts), -1)
    partner = rng.random(accounts) < 0.02
    with paths["accounts.csv"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "name", "owner_id", "country", "postal_code", "industry", "employees", "annual_revenue", "domain", "sourcing_rep_id", "partner_id"])
        for i in range(accounts):
            writer.writerow([
                f"ACC-{i:07d}", f"Company {i} GmbH", reps[owner_index[i]] if owner_index[i] >= 0 else "", COUNTRIES[country[i]], f"{postal[i]:05d}",
                INDUSTRIES[industry[i]], employees[i], revenue[i], f"c{domain_of[i]}.example", reps[sourcing[i]] if sourcing[i] >= 0 else "", "PARTNER-1" if partner[i] else "",
            ])
    _write_opps(paths["opps.csv"], rng, accounts, reps, owner_index)
    with paths["reps.csv"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "name", "active", "capacity", "is_partner"])
        for k, rep in enumerate(reps):
            writer.writerow([rep, f"Rep {k}", "false" if k % 97 == 13 else "true", 200, "true" if rep in rules["partner_reps"] else "false"])
    return paths


def _geo_owner_lookup(rules: dict, reps: list[str]) -> np.ndarray:
    """Owner index per (country, 3-digit prefix) from the geographic territories."""
    lookup = np.zeros((len(COUNTRIES), 1000), dtype=np.int64)
    rep_index = {rep: i for i, rep in enumerate(reps)}
    for territory in rules["territories"]:
        if not territory["id"].startswith("GEO-"):
            continue
        c = COUNTRIES.index(territory["match"]["country"][0])
        for entry in territory["match"]["postal_code"]:
            low, _, high = entry.partition("-")
            lookup[c, int(low): int(high or low) + 1] = rep_index[territory["owner"]]
    return lookup


def _write_opps(path: Path, rng: np.random.Generator, accounts: int, reps: list[str], owner_index: np.ndarray) -> None:
    count = accounts // 5
    rows = rng.integers(accounts, size=count)
    closed = rng.random(count) < 0.5
    amounts = np.round(rng.lognormal(10.5, 1.0, size=count))
    stages = ["Prospecting", "Qualification", "Proposal", "Negotiation"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "account_id", "owner_id", "amount", "stage", "is_closed"])
        for k in range(count):
            owner = owner_index[rows[k]]
            writer.writerow([f"OPP-{k:07d}", f"ACC-{rows[k]:07d}", reps[owner] if owner >= 0 else "", f"{amounts[k]:.0f}", stages[k % 4], "true" if closed[k] else "false"])


def csv_pass_seconds(paths: list[Path]) -> float:
    """(b): one plain csv-module pass over each file, doing nothing with the rows."""
    started = time.perf_counter()
    for path in paths:
        with path.open(newline="", encoding="utf-8") as handle:
            for _ in csv.reader(handle):
                pass
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--territories", type=int, default=500)
    parser.add_argument("--dir", type=Path, default=None, help="Folder for the generated files (default: a temp folder).")
    parser.add_argument("--keep", action="store_true", help="Keep generated files in the temp folder.")
    parser.add_argument("--reuse", action="store_true", help="Reuse the files already in --dir instead of generating them.")
    args = parser.parse_args(argv)
    folder = args.dir or Path(tempfile.mkdtemp(prefix="rules-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    names = ("territory.yaml", "accounts.csv", "opps.csv", "reps.csv")
    if args.reuse and all((folder / name).exists() for name in names):
        paths = {name: folder / name for name in names}
        print(f"reusing the inputs in {folder}", flush=True)
    else:
        print(f"generating {args.accounts:,} accounts x {args.territories} territories in {folder} ...", flush=True)
        started = time.perf_counter()
        paths = write_inputs(folder, args.accounts, args.territories)
        print(f"  generated in {time.perf_counter() - started:.1f} s ({paths['accounts.csv'].stat().st_size / 1e6:.0f} MB accounts.csv)", flush=True)
    return report(paths, folder, args.keep or args.dir is not None)


def report(paths: dict[str, Path], folder: Path, keep: bool) -> int:
    from territory.rules import evaluate, load_rules
    from territory.rules.csv_io import read_accounts_csv, read_opportunities_csv, read_reps_csv

    gc.collect()
    rules = load_rules(paths["territory.yaml"])
    t0 = time.perf_counter()
    table = read_accounts_csv(paths["accounts.csv"])
    opps = read_opportunities_csv(paths["opps.csv"])
    reps = read_reps_csv(paths["reps.csv"])
    parse_seconds = time.perf_counter() - t0
    evaluation = evaluate(table, rules, reps=reps, opportunities=opps)
    eval_seconds = evaluation.elapsed_seconds
    print(f"(a) evaluation, excluding CSV parsing: {eval_seconds:.2f} s  (goal <= 10 s; our CSV parsing took {parse_seconds:.2f} s)")
    print(f"    statuses: {evaluation.status_counts()}")
    del evaluation, table, opps
    gc.collect()
    inputs = [paths["accounts.csv"], paths["opps.csv"], paths["reps.csv"]]
    command = [str(Path(sys.executable).with_name("territory")), "rules", "evaluate", "--rules", str(paths["territory.yaml"]), "--accounts", str(paths["accounts.csv"]),
               "--opportunities", str(paths["opps.csv"]), "--reps", str(paths["reps.csv"]), "--out", str(folder / "decisions.csv"), "--json", str(folder / "summary.json")]
    # Interleave the two measurements and repeat them: the machine may be shared, and the
    # best of a few runs is the least disturbed one. Every run is printed.
    reads, clis = [], []
    for _ in range(ROUNDS):
        reads.append(csv_pass_seconds(inputs))
        t0 = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        clis.append(time.perf_counter() - t0)
        if result.returncode != 0:
            print(result.stdout, result.stderr, sep="\n")
            return result.returncode
    read_seconds, cli_seconds = min(reads), min(clis)
    started = time.perf_counter()
    with paths["accounts.csv"].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    dict_seconds = time.perf_counter() - started
    del rows
    runs = lambda values: ", ".join(f"{v:.2f}" for v in values)  # noqa: E731
    print(f"(b) plain csv-module pass over the inputs (accounts, opps, reps): {read_seconds:.2f} s  (runs: {runs(reads)})")
    print(f"(c) CLI end to end (fresh process, all inputs, decisions.csv + summary.json): {cli_seconds:.2f} s  (runs: {runs(clis)})")
    print(f"    ratio (c)/(b) = {cli_seconds / read_seconds:.2f}  (goal <= 3)")
    print(f"    for context: csv.DictReader of accounts.csv into a list (rows as dicts, no work): {dict_seconds:.2f} s")
    if not keep:
        for path in list(paths.values()) + [folder / "decisions.csv", folder / "summary.json"]:
            path.unlink(missing_ok=True)
        folder.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
