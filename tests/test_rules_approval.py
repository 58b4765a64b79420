"""The approvers section of the rules file and who may decide a proposal (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from territory.rules import (
    Approvers,
    RulesFileError,
    approving_manager,
    authorize,
    build_approval_context,
    parse_rules,
)

NAMES = {"M1": "Maria Manager", "R1": "Rita Rep", "R2": "Rolf Rep", "X": "Xaver Other", "A": "Anna Ops"}
CONTEXT = build_approval_context(
    {"R1": "M1", "R2": None, "M1": None}, Approvers(users=["A"], managers={"R2": "M2"}),
    agent_ids={"BOT"}, inactive={"GONE"}, names=NAMES,
)


def test_manager_of_losing_rep_counts_when_approving() -> None:
    verdict = authorize("M1", "Approved", "R1", "R2", CONTEXT)
    assert verdict.counts and "manages the losing rep Rita Rep" in verdict.reason


def test_manager_from_rules_file_counts_for_gaining_rep_when_crm_has_none() -> None:
    verdict = authorize("M2", "Rejected", "R1", "R2", CONTEXT)
    assert verdict.counts and "gaining rep Rolf Rep" in verdict.reason


def test_named_approver_counts_for_any_proposal() -> None:
    assert authorize("A", "Approved", "X", "R2", CONTEXT).counts


def test_other_user_does_not_count_and_reason_names_people() -> None:
    verdict = authorize("X", "Approved", "R1", "R2", CONTEXT)
    assert not verdict.counts
    assert verdict.reason == "Xaver Other is neither the manager of Rita Rep or of Rolf Rep nor a named approver"


def test_rep_cannot_approve_move_to_themselves_even_as_named_approver() -> None:
    verdict = authorize("A", "Approved", "R1", "A", CONTEXT)
    assert not verdict.counts and "cannot approve a move to themselves" in verdict.reason


def test_agent_edits_are_never_decisions() -> None:
    verdict = authorize("BOT", "Approved", "R1", "R2", CONTEXT)
    assert not verdict.counts and verdict.is_agent


@pytest.mark.parametrize("actor", [None, "GONE"])
def test_unknown_author_or_inactive_user_does_not_count(actor: str | None) -> None:
    assert not authorize(actor, "Approved", "GONE", "R2", CONTEXT).counts


def test_status_other_than_a_decision_does_not_count() -> None:
    assert not authorize("M1", "Applied", "R1", "R2", CONTEXT).counts


def test_approving_manager_prefers_losing_reps_manager_then_gaining_then_named() -> None:
    assert approving_manager("R1", "R2", CONTEXT) == "M1"
    assert approving_manager("X", "R2", CONTEXT) == "M2"
    assert approving_manager("X", "Y", CONTEXT) == "A"


@given(actor=st.sampled_from(["M1", "M2", "A", "X", "R1", "R2", "BOT"]),
       value=st.sampled_from(["Approved", "Rejected"]),
       reps=st.lists(st.sampled_from(["R1", "R2", "X", "A", "M1"]), min_size=2, max_size=2, unique=True))
def test_a_counted_approval_never_comes_from_the_gaining_rep_or_the_agent(actor: str, value: str, reps: list[str]) -> None:
    verdict = authorize(actor, value, reps[0], reps[1], CONTEXT)
    if verdict.counts:
        assert actor != "BOT"
        assert not (value == "Approved" and actor == reps[1])
        assert actor in {"A", CONTEXT.managers.get(reps[0]), CONTEXT.managers.get(reps[1])}


def test_rules_file_approvers_section_loads() -> None:
    rules = parse_rules("version: 1\napprovers:\n  users: [A]\n  managers: {R2: M2}\n")
    assert rules.approvers.users == ["A"] and rules.approvers.managers == {"R2": "M2"}


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("version: 1\napprovers:\n  users: [A, B, A]\n", 3, "approver 'A' is listed twice"),
        ("version: 1\napprovers:\n  managers:\n    R1: R1\n", 4, "'R1' is named as their own manager"),
        ("version: 1\napprovers:\n  user: [A]\n", 3, "unknown field 'user'"),
    ],
)
def test_invalid_approvers_name_line_and_problem(text: str, line: int, problem: str) -> None:
    with pytest.raises(RulesFileError) as caught:
        parse_rules(text, "territory.yaml")
    assert caught.value.line == line and problem in caught.value.problem


def test_unknown_approver_is_located_when_reps_are_known() -> None:
    text = "version: 1\napprovers:\n  users: [A]\n  managers:\n    R1: NOBODY\n"
    with pytest.raises(RulesFileError) as caught:
        parse_rules(text, "territory.yaml", known_reps={"A", "R1"})
    assert caught.value.line == 5 and "unknown rep 'NOBODY'" in caught.value.problem
