"""Every status and every tiebreaker, one small book each."""

from __future__ import annotations

import pytest

from territory.rules import (
    Account,
    Opportunity,
    Rep,
    Status,
    build_book_context,
    evaluate,
    parse_rules,
)

BASE = """
version: 1
territories:
  - id: DE-NORTH
    owner: REP001
    match: {country: [DE], postal_code: ["20-29", "49"]}
  - id: DE-SOUTH
    owner: REP002
    match: {country: [DE], postal_code: ["80-97"]}
  - id: MEDTECH
    owner: REP003
    match: {industry: [MedTech], employees: {min: 200}}
    priority: 10
named_accounts:
  - {account: ACC-42, owner: REP004, reason: "Strategic key account"}
  - {domain: bosch.de, owner: REP004}
channels:
  partner_led: {match: {employees: {max: 49}}}
  direct_only: {match: {industry: [Automotive]}}
partner_reps: [REP009]
"""


def _one(account: Account, *, rules_text: str = BASE, **kwargs):  # type: ignore[no-untyped-def]
    return next(evaluate([account], parse_rules(rules_text), **kwargs).decisions())


def _north(account_id: str = "A1", **fields) -> Account:  # type: ignore[no-untyped-def]
    values = {"owner_id": "REP001", "country": "DE", "postal_code": "20095", "employees": 100}
    values.update(fields)
    return Account(account_id, **values)


def test_status_ok_when_single_territory_owner_matches() -> None:
    decision = _one(_north())
    assert decision.status is Status.OK
    assert decision.expected_owner_id == "REP001"
    assert decision.territory_ids == ("DE-NORTH",)
    assert "territory DE-NORTH (country DE, postal_code 20-29|49)" in decision.reason


def test_postal_prefix_and_inclusive_range_when_codes_on_the_edges() -> None:
    rules = parse_rules(BASE)
    accounts = [_north(f"A{code}", postal_code=code) for code in ("20000", "29999", "49123", "30000", "19999", "4", "")]
    matched = {d.account_id: d.territory_ids for d in evaluate(accounts, rules).decisions()}
    assert matched == {"A20000": ("DE-NORTH",), "A29999": ("DE-NORTH",), "A49123": ("DE-NORTH",), "A30000": (), "A19999": (), "A4": (), "A": ()}


def test_status_mismatch_when_current_owner_differs() -> None:
    decision = _one(_north(owner_id="REP002"))
    assert decision.status is Status.MISMATCH
    assert (decision.current_owner_id, decision.expected_owner_id) == ("REP002", "REP001")


def test_status_mismatch_when_account_has_no_owner_but_a_rule() -> None:
    decision = _one(_north(owner_id=None))
    assert decision.status is Status.MISMATCH
    assert decision.expected_owner_id == "REP001"


def test_status_overlap_names_the_tiebreaker_when_priority_decides() -> None:
    decision = _one(_north(owner_id="REP003", industry="MedTech", employees=300))
    assert decision.status is Status.OVERLAP
    assert decision.territory_ids == ("DE-NORTH", "MEDTECH")
    assert decision.expected_owner_id == "REP003"
    assert "tiebreaker priority chose territory MEDTECH" in decision.reason
    assert decision.deciding_rule == "tiebreaker:priority:MEDTECH"


def test_status_unassigned_when_no_rule_and_no_owner() -> None:
    decision = _one(Account("X", country="FR", employees=100))
    assert decision.status is Status.UNASSIGNED
    assert decision.expected_owner_id is None


def test_status_uncovered_when_no_rule_but_an_owner_keeps_it() -> None:
    decision = _one(Account("X", owner_id="REP007", country="FR", employees=100))
    assert decision.status is Status.UNCOVERED
    assert decision.expected_owner_id == "REP007"


def test_status_named_when_named_owner_owns_it_and_overrides_territory() -> None:
    decision = _one(_north("ACC-42", owner_id="REP004"))
    assert decision.status is Status.NAMED
    assert decision.territory_ids == ("DE-NORTH",)
    assert "named account rule (account ACC-42: Strategic key account) -> REP004" in decision.reason


def test_named_domain_entry_matches_when_domain_written_differently() -> None:
    decision = _one(_north(owner_id="REP001", domain="https://WWW.Bosch.de/en/"))
    assert decision.status is Status.MISMATCH
    assert decision.expected_owner_id == "REP004"
    assert decision.deciding_rule == "named:bosch.de"


def test_status_grandfathered_when_current_owner_has_open_opportunity() -> None:
    opps = [Opportunity("O1", "A1", "REP002", 50_000, "Negotiation", False)]
    decision = _one(_north(owner_id="REP002"), opportunities=opps)
    assert decision.status is Status.GRANDFATHERED
    assert decision.expected_owner_id == "REP002"
    assert decision.rule_owner_id == "REP001"
    assert "open opportunity O1 (Negotiation, 50,000)" in decision.reason


def test_not_grandfathered_when_opportunity_closed_or_switched_off() -> None:
    closed = [Opportunity("O1", "A1", "REP002", 50_000, "Closed Won", True)]
    assert _one(_north(owner_id="REP002"), opportunities=closed).status is Status.MISMATCH
    switched_off = BASE + "grandfather_open_opportunities: false\n"
    open_opp = [Opportunity("O1", "A1", "REP002", 50_000, "Negotiation", False)]
    assert _one(_north(owner_id="REP002"), rules_text=switched_off, opportunities=open_opp).status is Status.MISMATCH


def test_status_inactive_owner_when_current_owner_inactive() -> None:
    decision = _one(_north(owner_id="REP005"), reps=[Rep("REP005", active=False)])
    assert decision.status is Status.INACTIVE_OWNER
    assert decision.expected_owner_id == "REP001"
    assert "current owner REP005 is inactive" in decision.reason


def test_status_inactive_owner_when_territory_owner_inactive() -> None:
    decision = _one(_north(), reps=[Rep("REP001", active=False)])
    assert decision.status is Status.INACTIVE_OWNER
    assert decision.expected_owner_id is None


def test_status_duplicate_on_both_accounts_when_domain_shared_with_other_owner() -> None:
    accounts = [_north("A1", domain="acme.com"), _north("A2", owner_id="REP002", domain="www.ACME.com"), _north("A3", domain="acme.com")]
    decisions = {d.account_id: d for d in evaluate(accounts, parse_rules(BASE)).decisions()}
    assert {k: d.status for k, d in decisions.items()} == {"A1": Status.DUPLICATE, "A2": Status.DUPLICATE, "A3": Status.DUPLICATE}
    assert "domain acme.com is also on A2 (owner REP002)" in decisions["A1"].reason


def test_not_duplicate_when_same_domain_same_owner() -> None:
    accounts = [_north("A1", domain="acme.com"), _north("A2", domain="acme.com")]
    assert {d.status for d in evaluate(accounts, parse_rules(BASE)).decisions()} == {Status.OK}


def test_status_partner_conflict_when_partner_led_owned_by_direct_rep() -> None:
    decision = _one(_north(employees=10))
    assert decision.status is Status.PARTNER_CONFLICT
    assert "partner_led (employees <= 49)" in decision.reason


def test_partner_led_ok_when_owned_by_partner_rep_from_reps_or_rules() -> None:
    rules_text = BASE.replace("owner: REP001\n", "owner: REP009\n", 1)
    assert _one(_north(owner_id="REP009", employees=10), rules_text=rules_text).status is Status.OK
    rules_text = rules_text.replace("partner_reps: [REP009]", "partner_reps: []")
    assert _one(_north(owner_id="REP009", employees=10), rules_text=rules_text, reps=[Rep("REP009", is_partner=True)]).status is Status.OK


def test_status_partner_conflict_when_direct_only_carries_partner() -> None:
    decision = _one(_north(industry="Automotive", partner_id="P-1"))
    assert decision.status is Status.PARTNER_CONFLICT
    assert "direct_only (industry Automotive), but the account carries a partner" in decision.reason


def test_precedence_when_several_statuses_apply() -> None:
    # Inactive owner + duplicate + partner-led: inactive_owner wins.
    accounts = [_north("A1", owner_id="REP005", employees=10, domain="x.com"), _north("A2", domain="x.com")]
    decisions = list(evaluate(accounts, parse_rules(BASE), reps=[Rep("REP005", active=False)]).decisions())
    assert [d.status for d in decisions] == [Status.INACTIVE_OWNER, Status.DUPLICATE]


TIEBREAK = """
version: 1
territories:
  - {id: T-GEO, owner: REP001, match: {country: [DE], postal_code: ["20"]}}
  - {id: T-COUNTRY, owner: REP002, match: {country: [DE]}}
  - {id: T-VERTICAL, owner: REP003, match: {industry: [MedTech]}}
tiebreakers: [TIEBREAKERS]
"""


def _tiebreak(order: str, account: Account, **kwargs):  # type: ignore[no-untyped-def]
    return _one(account, rules_text=TIEBREAK.replace("TIEBREAKERS", order), **kwargs)


def test_tiebreaker_sourcing_rep_when_it_owns_a_candidate() -> None:
    account = Account("A", owner_id="REP003", country="DE", postal_code="20095", industry="MedTech", sourcing_rep_id="REP003")
    decision = _tiebreak("sourcing_rep, billing_territory", account)
    assert (decision.status, decision.expected_owner_id) == (Status.OVERLAP, "REP003")
    assert "tiebreaker sourcing_rep" in decision.reason


def test_tiebreaker_billing_territory_prefers_most_specific_postal_rule() -> None:
    account = Account("A", owner_id="REP001", country="DE", postal_code="20095", industry="MedTech", sourcing_rep_id="REP999")
    decision = _tiebreak("sourcing_rep, billing_territory", account)
    assert (decision.status, decision.expected_owner_id) == (Status.OVERLAP, "REP001")
    assert "tiebreaker billing_territory chose territory T-GEO" in decision.reason


def test_tiebreaker_lowest_load_picks_rep_with_least_workload() -> None:
    accounts = [
        Account("A", owner_id="REP003", country="DE", postal_code="50000", industry="MedTech"),
        Account("B", owner_id="REP002", country="FR"),
        Account("C", owner_id="REP002", country="FR"),
    ]
    rules = parse_rules(TIEBREAK.replace("TIEBREAKERS", "lowest_load"))
    decision = next(evaluate(accounts, rules).decisions())
    assert decision.expected_owner_id == "REP003"  # REP002 carries two more accounts
    assert "tiebreaker lowest_load" in decision.reason


def test_tiebreaker_priority_beats_later_ones() -> None:
    rules_text = TIEBREAK.replace("TIEBREAKERS", "priority, billing_territory").replace(
        "{id: T-VERTICAL, owner: REP003, match: {industry: [MedTech]}}", "{id: T-VERTICAL, owner: REP003, priority: 5, match: {industry: [MedTech]}}"
    )
    account = Account("A", owner_id="REP001", country="DE", postal_code="20095", industry="MedTech")
    assert _one(account, rules_text=rules_text).expected_owner_id == "REP003"


def test_fallback_to_first_territory_id_when_chain_cannot_decide() -> None:
    account = Account("A", country="DE", postal_code="50000", industry="MedTech")
    decision = _tiebreak("priority", account)
    assert decision.expected_owner_id == "REP002"  # T-COUNTRY < T-VERTICAL
    assert "tiebreaker territory_id" in decision.reason


def test_subset_evaluation_uses_whole_book_for_duplicates() -> None:
    rules = parse_rules(BASE)
    book = [_north("A1", domain="acme.com"), _north("A2", owner_id="REP002", domain="acme.com"), _north("A3", domain="other.com")]
    context = build_book_context(book, rules)
    assert context.related_account_ids(["A1"]) == {"A1", "A2"}
    decisions = list(evaluate([book[0], book[2]], rules, context=context).decisions())
    assert [d.status for d in decisions] == [Status.DUPLICATE, Status.OK]
    assert "also on A2 (owner REP002)" in decisions[0].reason


@pytest.mark.parametrize("status", list(Status))
def test_every_status_has_a_reason_formatter_when_listed(status: Status) -> None:
    from territory.rules.reasons import REASON_WRITERS

    assert status in REASON_WRITERS


def test_auto_assignments_list_unowned_accounts_when_enabled() -> None:
    accounts = [_north("A1", owner_id=None), _north("A2", owner_id="REP002"), Account("A3", country="FR")]
    assert evaluate(accounts, parse_rules(BASE)).auto_assignments() == []
    assigned = evaluate(accounts, parse_rules(BASE + "auto_assign: true\n")).auto_assignments()
    assert [(d.account_id, d.expected_owner_id) for d in assigned] == [("A1", "REP001")]
    assert "territory DE-NORTH" in assigned[0].reason


def test_inactive_owner_is_not_grandfathered_when_open_opportunity() -> None:
    # Regression: both rows share an outcome, so the expected owner must not depend on
    # which of them comes first (it once did, through the grandfathering flag).
    accounts = [_north("A1", owner_id="REP005", domain="d.com"), _north("A2", owner_id="REP005", domain="d.com")]
    opps = [Opportunity("O1", "A1", None, 10.0, None, False)]
    for order in (accounts, accounts[::-1]):
        decisions = {d.account_id: d for d in evaluate(order, parse_rules(BASE), reps=[Rep("REP005", active=False)], opportunities=opps).decisions()}
        assert [(decisions[k].status, decisions[k].expected_owner_id) for k in ("A1", "A2")] == [(Status.INACTIVE_OWNER, "REP001")] * 2
