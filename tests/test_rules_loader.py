"""Rules file validation: every error names file, line, column and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from territory.rules import RulesFileError, check_known_reps, load_rules, parse_rules

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
version: 1
territories:
  - id: DE-NORTH
    owner: REP001
    match: {country: [DE], postal_code: ["20-29", "49"]}
  - id: MEDTECH
    owner: REP003
    match: {industry: [MedTech], employees: {min: 200}}
    priority: 10
named_accounts:
  - {account: ACC-000042, owner: REP004, reason: "Strategic key account"}
  - {domain: bosch.de, owner: REP004}
"""


def _error(text: str, **kwargs) -> RulesFileError:  # type: ignore[no-untyped-def]
    with pytest.raises(RulesFileError) as caught:
        parse_rules(text, "territory.yaml", **kwargs)
    return caught.value


def test_valid_file_parses_when_shape_is_the_issue_example() -> None:
    rules = parse_rules(GOOD)
    assert [t.id for t in rules.territories] == ["DE-NORTH", "MEDTECH"]
    assert rules.tiebreakers == ["named_account", "priority", "sourcing_rep", "billing_territory", "lowest_load"]
    assert rules.grandfather_open_opportunities is True


def test_unknown_field_points_at_the_key_when_misspelt() -> None:
    error = _error(GOOD.replace("postal_code:", "postcode:"))
    assert (error.path, error.line, error.column) == ("territory.yaml", 5, 28)
    assert "unknown field 'postcode'" in error.problem
    assert "postal_code" in error.problem  # lists the allowed fields
    assert str(error).startswith("territory.yaml:5:28: ")


def test_bad_range_points_at_the_entry_when_low_above_high() -> None:
    error = _error(GOOD.replace('"20-29"', '"29-20"'))
    assert (error.line, error.column) == (5, 42)
    assert "'29-20'" in error.problem and "write '20-29'" in error.problem


def test_range_with_unequal_ends_is_rejected() -> None:
    error = _error(GOOD.replace('"20-29"', '"2-29"'))
    assert error.line == 5 and "same number of characters" in error.problem


def test_duplicate_territory_id_points_at_second_id() -> None:
    error = _error(GOOD.replace("id: MEDTECH", "id: DE-NORTH"))
    assert (error.line, error.column) == (6, 9)
    assert "duplicate territory id 'DE-NORTH' (first defined at line 3)" in error.problem


def test_overlapping_named_entries_when_same_account_two_owners() -> None:
    text = GOOD + "  - {account: ACC-000042, owner: REP005}\n"
    error = _error(text)
    assert (error.line, error.column) == (13, 15)
    assert "overlapping named entries" in error.problem and "line 11" in error.problem


def test_overlapping_named_domains_compare_normalised() -> None:
    error = _error(GOOD + "  - {domain: WWW.Bosch.de, owner: REP005}\n")
    assert error.line == 13 and "'bosch.de'" in error.problem


def test_unknown_rep_when_reps_are_known() -> None:
    error = _error(GOOD, known_reps={"REP001", "REP003"})
    assert (error.line, error.column) == (11, 34)
    assert "unknown rep 'REP004'" in error.problem


def test_check_known_reps_later_still_cites_the_line() -> None:
    rules = parse_rules(GOOD, "territory.yaml")
    with pytest.raises(RulesFileError) as caught:
        check_known_reps(rules, {"REP001", "REP004"})
    assert (caught.value.line, caught.value.column) == (7, 12)


def test_min_above_max_is_located_when_employee_bounds_swapped() -> None:
    error = _error(GOOD.replace("{min: 200}", "{min: 200, max: 10}"))
    assert error.line == 8 and "min 200 is greater than max 10" in error.problem


def test_syntax_error_is_located() -> None:
    error = _error("version: 1\nterritories:\n  - id: [unclosed\n")
    assert error.line >= 3 and "YAML syntax" in error.problem


def test_duplicate_yaml_key_is_an_error() -> None:
    error = _error("version: 1\nauto_assign: true\nauto_assign: false\n")
    assert (error.line, error.column) == (3, 1)


def test_wrong_version_and_missing_version_are_errors() -> None:
    assert "version" in _error("version: 2\n").problem
    missing = _error("territories: []\n")
    assert "version" in missing.problem and "missing" in missing.problem


def test_unknown_tiebreaker_and_misplaced_named_account_are_errors() -> None:
    error = _error(GOOD + "tiebreakers: [priority, coin_flip]\n")
    assert error.line == 13 and error.column == 25
    assert "named_account must come first" in _error(GOOD + "tiebreakers: [priority, named_account]\n").problem


def test_empty_match_is_an_error_when_it_would_match_everything() -> None:
    error = _error("version: 1\nterritories:\n  - {id: X, owner: R, match: {}}\n")
    assert error.line == 3 and "match names no criterion" in error.problem


def test_missing_file_is_a_rules_file_error(tmp_path: Path) -> None:
    with pytest.raises(RulesFileError) as caught:
        load_rules(tmp_path / "nope.yaml")
    assert "cannot read the rules file" in caught.value.problem
    assert isinstance(caught.value, ValueError)


def test_example_config_validates_when_shipped() -> None:
    rules = load_rules(REPO / "config" / "territory.example.yaml")
    assert rules.territories and rules.named_accounts
    assert rules.channels.partner_led is not None and rules.channels.direct_only is not None


def test_codes_and_ids_are_read_as_written_when_yaml_would_make_them_numbers(tmp_path: Path) -> None:
    path = tmp_path / "territory.yaml"
    path.write_text(
        "version: 1\n"
        "territories:\n"
        "  - id: 7\n"
        "    owner: 005000000000001\n"
        "    match: {country: [NO, DE], postal_code: [01067, 49], industry: 2024}\n"
        "  - {id: DRESDEN, owner: 0012, match: {country: DE, postal_code: 01}}\n"
        "named_accounts:\n"
        "  - {account: 00123, owner: 0012}\n"
        "partner_reps: [0012]\n"
        "approvers: {users: [0012], managers: {0007: 0008}}\n",
        encoding="utf-8",
    )
    rules = load_rules(path)
    first, second = rules.territories
    assert (first.id, first.owner) == ("7", "005000000000001")
    assert first.match.country == ["NO", "DE"] and first.match.industry == ["2024"]
    assert first.match.postal_code == ["01067", "49"] and second.match.postal_code == ["01"]
    assert (rules.named_accounts[0].account, rules.named_accounts[0].owner) == ("00123", "0012")
    assert rules.partner_reps == ["0012"] and rules.approvers.managers == {"0007": "0008"}


def test_unquoted_postal_code_with_leading_zero_matches_its_accounts_when_evaluated() -> None:
    from territory.rules import Account, evaluate

    rules = parse_rules("version: 1\nterritories:\n  - {id: DD, owner: R1, match: {country: [DE], postal_code: [01067]}}\n")
    decision = next(evaluate([Account("A1", owner_id="R1", country="DE", postal_code="01067")], rules).decisions())
    assert decision.territory_ids == ("DD",) and decision.status.value == "ok"


def test_validation_warns_with_lines_when_criteria_or_owners_do_not_fit_the_book() -> None:
    from territory.rules import Account
    from territory.rules.book_fit import check_book_fit

    rules = parse_rules(
        "version: 1\n"
        "territories:\n"
        "  - {id: NORTH, owner: R1, match: {country: [DE], postal_code: [20, 99999]}}\n"
        "  - {id: SOUTH, owner: R2, match: {country: [DE], postal_code: [8]}}\n"
        "  - {id: AUSTRIA, owner: R1, match: {country: [AT]}}\n"
        "  - {id: MEDTECH, owner: R1, match: {industry: [MedTech, Medtek]}}\n"
        "named_accounts:\n"
        "  - {account: GONE-1, owner: R1}\n",
        "territory.yaml",
    )
    accounts = [
        Account("A1", owner_id="R1", country="DE", postal_code="20095", industry="MedTech"),
        Account("A2", owner_id="R1", country="DE", postal_code="80331"),
    ]
    warnings = [(w.line, w.message) for w in check_book_fit(rules, accounts)]
    assert warnings == [
        (3, "territory NORTH: postal_code entry '99999' matches no account of the book"),
        (4, "territory SOUTH: its owner R2 owns none of the 1 accounts it covers"),
        (5, "territory AUSTRIA matches no account of the book"),
        (6, "territory MEDTECH: industry entry 'Medtek' matches no account of the book"),
        (8, "named account GONE-1 is not in the book"),
    ]
