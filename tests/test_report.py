"""territory report on a seeded book: figures match the store, flags follow the thresholds."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territory import rules
from territory.rules import health
from territory.sync.report import build_report
from territory.sync.report.figures import build_figures
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


@settings(max_examples=40, deadline=None)
@given(
    owners=st.lists(st.sampled_from(["a", "b", "c", "gone", None]), min_size=1, max_size=40),
    potentials=st.lists(st.floats(0, 1e6, allow_nan=False), min_size=40, max_size=40),
    workloads=st.lists(st.sampled_from([0.0, 3.0, 6.0, 12.0]), min_size=40, max_size=40),
    capacity=st.floats(1, 200),
)
def test_rep_figures_add_up_to_the_book_when_owners_and_figures_vary(
    owners: list[str | None], potentials: list[float], workloads: list[float], capacity: float,
) -> None:
    size = len(owners)
    data = ReportInput(
        source={"kind": "csv", "accounts": "x", "reps": "y"},
        reps=[RepInput("a", "Anna"), RepInput("b", "Ben"), RepInput("c", "Cem"), RepInput("gone", "Old", active=False)],
        account_ids=[f"acc{i}" for i in range(size)], account_names=[f"A{i}" for i in range(size)],
        owner_ids=owners, lat=np.full(size, 50.0), lon=np.full(size, 8.0),
        potential=np.array(potentials[:size]), workload=np.array(workloads[:size]),
        segments=["SMB"] * size, default_capacity=capacity,
    )
    figures = build_figures(data, health.Quarter(2026, 4), currency="EUR", today=date(2026, 11, 1))
    reps, team = figures["reps"], figures["team"]
    assert sum(r["accounts"] for r in reps) + team["unassigned_accounts"] == size
    unowned = sum(p for p, o in zip(potentials, owners) if o not in {r["id"] for r in reps})
    assert sum(r["potential"] for r in reps) + unowned == pytest.approx(team["potential"])
    for rep in reps:
        assert 0 <= rep["coverable_accounts"] <= rep["accounts"]
        assert rep["coverable_accounts"] + rep["overload_accounts"] == rep["accounts"]
        assert (rep["flags"]["utilisation"] == "bad") == (rep["workload"] > rep["capacity"])
        if rep["workload"] <= rep["capacity"]:
            assert rep["overload_accounts"] == 0
        assert rep["flags"]["potential_balance"] == (health.balance_flag(rep["potential_deviation"])
                                                     if rep["active"] else "none")
    json.dumps(figures)
