"""`territory plan --time-limit` is the budget of the whole command, not of the solver alone."""

from __future__ import annotations

from territory.cli.plan_cmd import OUTPUT_RESERVE_S_PER_ACCOUNT, STARTUP_RESERVE_S, solver_budget


def test_solver_gets_what_loading_and_output_leave_when_budget_is_ample() -> None:
    budget = solver_budget(60.0, spent=0.8, accounts=50_000)
    assert budget == 60.0 - 0.8 - STARTUP_RESERVE_S - OUTPUT_RESERVE_S_PER_ACCOUNT * 50_000
    assert 55.0 < budget < 58.0


def test_solver_keeps_a_minimum_when_loading_ate_the_budget() -> None:
    assert solver_budget(5.0, spent=9.0, accounts=10_000) == 1.0
    assert solver_budget(0.5, spent=9.0, accounts=10) == 0.5
