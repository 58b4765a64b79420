"""bench/planner.py smoke test: one tiny run end to end through its child-process harness."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_prints_table_and_json_when_run_on_tiny_instance(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "planner.py"),
            "--sizes",
            "300x6",
            "--seeds",
            "4",
            "--time-limit",
            "5",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "300x6" in done.stdout and "greedy" in done.stdout
    results = json.loads(out.read_text())
    greedy = next(r for r in results if r["solver"] == "greedy")
    assert greedy["violations"] == 0 and greedy["reach_violations"] == 0
    assert greedy["peak_rss_mib"] > 10 and greedy["wall_seconds"] > 0
    assert greedy["after_max_deviation_potential"] < greedy["before_max_deviation_potential"]
