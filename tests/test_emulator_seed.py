"""Seeding: deterministic, fast enough for 100k, and every planted flaw is really there."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import asdict
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr

from territory.emulator.cities import city_by_name
from territory.emulator.seed import SeedReport, default_owner_count, seed_state
from territory.emulator.state import CrmState

ACCOUNTS = 3000


@pytest.fixture(scope="module")
def seeded() -> tuple[CrmState, SeedReport]:
    state = CrmState()
    return state, seed_state(state, accounts=ACCOUNTS, seed=11)


def _snapshot(state: CrmState) -> list[dict]:
    return [asdict(r) for table in (state.owners, state.accounts, state.opportunities) for r in table.values()]


def test_same_seed_gives_identical_data_when_seeded_twice() -> None:
    a, b, c = CrmState(), CrmState(), CrmState()
    seed_state(a, accounts=800, seed=5)
    seed_state(b, accounts=800, seed=5)
    seed_state(c, accounts=800, seed=6)
    assert _snapshot(a) == _snapshot(b)
    assert _snapshot(a) != _snapshot(c)


def test_counts_follow_arguments_when_defaults_used(seeded: tuple[CrmState, SeedReport]) -> None:
    state, report = seeded
    assert len(state.accounts) == report.accounts == ACCOUNTS
    assert len(state.opportunities) == report.opportunities == ACCOUNTS // 5
    assert len(state.owners) == report.owners == default_owner_count(ACCOUNTS) == 9
    assert default_owner_count(100_000) == 300 and default_owner_count(10) == 8


def test_duplicate_domains_sit_with_different_owners_when_seeded(seeded: tuple[CrmState, SeedReport]) -> None:
    state, report = seeded
    owners_by_domain: dict[str, list[int | None]] = defaultdict(list)
    for account in state.accounts.values():
        if account.domain:
            owners_by_domain[account.domain].append(account.owner_n)
    duplicated = {d: o for d, o in owners_by_domain.items() if len(o) > 1}
    in_duplicates = sum(len(o) for o in duplicated.values())
    assert 0.02 * ACCOUNTS <= in_duplicates == report.duplicate_domain_accounts <= 0.10 * ACCOUNTS
    split = [d for d, o in duplicated.items() if len(set(o)) > 1]
    assert len(split) >= 0.8 * len(duplicated)
    assert "bosch.de" in duplicated, "a named account has a duplicate for demos"


def test_unowned_accounts_are_about_one_percent_when_seeded(seeded: tuple[CrmState, SeedReport]) -> None:
    state, report = seeded
    unowned = sum(1 for a in state.accounts.values() if a.owner_n is None)
    assert unowned == report.unowned_accounts
    assert 0.003 * ACCOUNTS <= unowned <= 0.02 * ACCOUNTS


def test_one_inactive_owner_still_owns_accounts_when_seeded(seeded: tuple[CrmState, SeedReport]) -> None:
    state, report = seeded
    inactive = [o.n for o in state.owners.values() if not o.is_active]
    assert inactive == [report.inactive_owner_n]
    assert sum(1 for a in state.accounts.values() if a.owner_n == report.inactive_owner_n) > 50


def test_new_hire_owns_nothing_when_seeded(seeded: tuple[CrmState, SeedReport]) -> None:
    state, report = seeded
    hire = state.owners[report.new_hire_n]
    assert hire.is_active and hire.teams and hire.manager_n in state.owners
    assert not any(a.owner_n == hire.n for a in state.accounts.values())
    assert not any(o.owner_n == hire.n for o in state.opportunities.values())
    assert hire.created_at > state.now() - timedelta(days=30)


def test_ownership_is_skewed_to_one_heavy_rep_when_seeded(seeded: tuple[CrmState, SeedReport]) -> None:
    state, report = seeded
    books = Counter(a.owner_n for a in state.accounts.values() if a.owner_n is not None)
    mean = sum(books.values()) / len(state.owners)
    assert books.most_common(1)[0][0] == report.heavy_owner_n
    assert 2.3 * mean <= books[report.heavy_owner_n] <= 4.5 * mean
    assert state.accounts[next(iter(state.accounts))].owner_n == report.heavy_owner_n  # Bosch


def test_ownership_is_mostly_geographic_when_seeded(seeded: tuple[CrmState, SeedReport]) -> None:
    state, _ = seeded
    by_region: dict[str, Counter] = defaultdict(Counter)
    for account in state.accounts.values():
        if account.country == "DE" and account.postal_code and account.owner_n is not None:
            by_region[account.postal_code[:3]][account.owner_n] += 1
    dominant = sum(c.most_common(1)[0][1] for c in by_region.values())
    assert dominant / sum(sum(c.values()) for c in by_region.values()) >= 0.7


def test_missing_postal_codes_and_malformed_records_exist_when_seeded(seeded: tuple[CrmState, SeedReport]) -> None:
    state, report = seeded
    missing = sum(1 for a in state.accounts.values() if not a.postal_code)
    assert missing == report.missing_postal_codes and 0.01 * ACCOUNTS <= missing <= 0.04 * ACCOUNTS
    malformed = [a for a in state.accounts.values() if a.malformed]
    assert len(malformed) == report.malformed_accounts and 1 <= len(malformed) <= 0.005 * ACCOUNTS


def test_modified_times_have_bulk_import_ties_when_seeded(seeded: tuple[CrmState, SeedReport]) -> None:
    state, report = seeded
    stamps = Counter(a.modified_at for a in state.accounts.values())
    assert max(stamps.values()) >= 20
    assert report.tie_groups >= 2 and report.largest_tie >= max(stamps.values())
    now = state.now()
    for account in state.accounts.values():
        assert now - timedelta(days=366) <= account.modified_at < now
        assert account.created_at <= account.modified_at
        assert account.modified_at.microsecond % 1000 == 0, "millisecond precision like both CRMs"


def test_open_opportunities_look_real_when_seeded(seeded: tuple[CrmState, SeedReport]) -> None:
    state, _ = seeded
    opps = list(state.opportunities.values())
    assert all(not o.is_closed and not o.stage.startswith("Closed") for o in opps)
    assert all(o.account_n in state.accounts for o in opps)
    cross = sum(1 for o in opps if o.owner_n != state.accounts[o.account_n].owner_n)
    assert 0.05 * len(opps) <= cross <= 0.3 * len(opps)
    amounts = sorted(o.amount for o in opps if o.amount is not None)
    assert amounts[-1] > 10 * statistics.median(amounts)
    overdue = sum(1 for o in opps if o.close_date < state.now().date())
    assert 0 < overdue < len(opps) / 2


def test_firmographics_are_heavy_tailed_and_correlated_when_seeded(seeded: tuple[CrmState, SeedReport]) -> None:
    state, _ = seeded
    pairs = [(a.employees, a.annual_revenue) for a in state.accounts.values()
             if a.employees is not None and a.annual_revenue is not None]
    employees = sorted(e for e, _ in pairs)
    assert employees[-1] > 50 * statistics.median(employees)
    assert spearmanr([e for e, _ in pairs], [r for _, r in pairs]).statistic > 0.8
    industries = Counter(a.industry for a in state.accounts.values())
    for value in ("MedTech", "Automotive", "Manufacturing", "Technology", "Consulting", None):
        assert industries[value] > 0
    parents = [a for a in state.accounts.values() if a.parent_n is not None]
    assert parents and all(p.parent_n in state.accounts and p.parent_n != p.n for p in parents)


def test_coordinates_sit_near_their_city_when_seeded(seeded: tuple[CrmState, SeedReport]) -> None:
    state, _ = seeded
    placed = [a for a in state.accounts.values() if a.lat is not None]
    assert len(placed) >= 0.95 * ACCOUNTS
    countries = Counter(a.country for a in state.accounts.values())
    assert 0.75 <= countries["DE"] / ACCOUNTS <= 0.92 and len(countries) >= 10
    for account in placed:
        city = city_by_name(account.city)
        assert account.country == city.country
        assert abs(account.lat - city.lat) < 0.5 and abs(account.lon - city.lon) < 0.8


def test_record_numbers_continue_when_seeded_into_a_used_state() -> None:
    state = CrmState()
    seed_state(state, accounts=100, seed=1)
    first = set(state.owners) | set(state.accounts) | set(state.opportunities)
    seed_state(state, accounts=100, seed=2)
    every = [*state.owners, *state.accounts, *state.opportunities]
    assert len(every) == len(set(every)) == 2 * len(first)
    assert state.next_n() > max(every)


def test_seeding_the_benchmark_size_completes_when_asked_for_100k() -> None:
    state = CrmState()
    report = seed_state(state, accounts=100_000, seed=7, opportunities=20_000)
    assert (report.accounts, report.opportunities, report.owners) == (100_000, 20_000, 300)
    assert len(state.accounts) == 100_000 and report.largest_tie > 100


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), accounts=st.integers(40, 400))
def test_every_flaw_is_planted_and_references_hold_for_any_seed(seed: int, accounts: int) -> None:
    state = CrmState()
    report = seed_state(state, accounts=accounts, seed=seed)
    owners, books = state.owners, Counter(a.owner_n for a in state.accounts.values())
    assert [o.n for o in owners.values() if not o.is_active] == [report.inactive_owner_n]
    assert books[report.inactive_owner_n] >= 1 and books[None] >= 1
    assert books[report.new_hire_n] == 0
    assert not any(o.owner_n == report.new_hire_n for o in state.opportunities.values())
    assert any(not a.postal_code for a in state.accounts.values())
    assert any(a.malformed for a in state.accounts.values())
    owners_by_domain: dict[str, set[int | None]] = defaultdict(set)
    for account in state.accounts.values():
        if account.domain:
            owners_by_domain[account.domain].add(account.owner_n)
    assert any(len(o) > 1 for o in owners_by_domain.values())
    assert max(Counter(a.modified_at for a in state.accounts.values()).values()) >= 2
    for account in state.accounts.values():
        assert account.owner_n is None or account.owner_n in owners
        assert account.parent_n is None or account.parent_n in state.accounts
    for opp in state.opportunities.values():
        assert opp.account_n in state.accounts and opp.owner_n in owners
    every = [*owners, *state.accounts, *state.opportunities]
    assert len(every) == len(set(every))


def test_no_malformed_option_gives_the_same_data_well_formed_when_disabled() -> None:
    messy, clean = CrmState(), CrmState()
    seed_state(messy, accounts=600, seed=8)
    report = seed_state(clean, accounts=600, seed=8, malformed=False)
    assert report.malformed_accounts == 0 and not any(a.malformed for a in clean.accounts.values())
    for account in messy.accounts.values():
        account.malformed = False
    assert _snapshot(messy) == _snapshot(clean)
