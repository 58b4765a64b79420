"""territory report on a seeded book: figures match the store, flags follow the thresholds."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np

from territory import rules
from territory.rules import health
from territory.sync.report import build_report
from territory.sync.report.inputs import RepInput, ReportInput


def _book() -> ReportInput:
    owners = ["a"] * 6 + ["b"] * 3 + ["c"] * 3
    return ReportInput(
        source={"kind": "csv", "accounts": "x", "reps": "y"},
        reps=[RepInput("a", "Anna"), RepInput("b", "Ben"), RepInput("c", "Cem", quota=100.0)],
        account_ids=[f"acc{i}" for i in range(12)], account_names=[f"A{i}" for i in range(12)],
        owner_ids=list(owners), lat=np.full(12, 50.0), lon=np.full(12, 8.0),
        potential=np.ones(12), workload=np.full(12, 30.0), segments=["SMB"] * 12, default_capacity=100.0,
    )


def test_sums_per_rep_and_flags_follow_thresholds_when_one_rep_holds_half_the_book() -> None:
    report = build_report(_book(), health.Quarter(2026, 4), today=date(2026, 11, 1))
    reps = {r["id"]: r for r in report.figures["reps"]}
    assert [reps[k]["accounts"] for k in "abc"] == [6, 3, 3]
    assert reps["a"]["potential_deviation"] == 0.5 and reps["a"]["flags"]["potential_balance"] == "bad"
    assert reps["a"]["flags"]["utilisation"] == "bad" and reps["a"]["coverable_accounts"] == 3
    assert reps["b"]["flags"]["utilisation"] == "ok"
    assert "Anna" in report.figures["summary"]["text"] and "Anna" in report.html
    json.dumps(report.figures, default=str)
    assert rules.CONFLICT_STATUSES


def test_quarter_parses_and_shifts_across_years() -> None:
    assert health.Quarter.parse("2026Q1").shift(-1) == health.Quarter(2025, 4)
    assert health.Quarter(2026, 4).end == date(2026, 12, 31)
    assert health.pipeline_flag(2.5, False) == "bad" and health.pipeline_flag(6.0, True) == "ok"
    assert Path(__file__).exists()
