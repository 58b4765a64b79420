"""`territory rules draft` describes the book as it is: only genuine conflicts remain."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from territory import rules
from territory.cli.main import app
from territory.emulator import start_emulator
from territory.sync import open_store
from territory.sync.book import Book, load_book
from territory.sync.draft_regions import draft_regions, merge_prefixes
from territory.sync.draft_rules import NOT_GENUINE, conflict_causes, draft_from_book

runner = CliRunner()


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A seeded 1,200-account HubSpot book (14 reps), synced and drafted through the CLI."""
    folder = tmp_path_factory.mktemp("draft")
    with start_emulator(accounts=1200, seed=5, owners=14) as emu, pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for key, value in emu.env("hubspot").items():
            patch.setenv(key, value)
        patch.setenv("TERRITORY_DB_URL", f"sqlite:///{folder / 'store.db'}")
        assert runner.invoke(app, ["sync"]).exit_code in (0, 4)
        result = runner.invoke(app, ["rules", "draft", "--out", str(folder / "territory.yaml")])
        assert result.exit_code == 0, result.output
        yield folder, result.output


def test_draft_gives_every_active_owning_rep_a_territory_when_drafted_from_a_seeded_book(drafted: Any) -> None:
    folder, _ = drafted
    book = load_book(open_store(f"sqlite:///{folder / 'store.db'}"), "hubspot")
    config = rules.load_rules(folder / "territory.yaml", known_reps={r.id for r in book.reps})
    active = {r.id for r in book.reps if r.active}
    owning = {a.owner_id for a in book.accounts if a.owner_id in active}
    assert len(owning) >= 12
    assert {t.owner for t in config.territories} == owning


def test_draft_leaves_only_genuine_conflicts_when_checked_against_its_own_book(drafted: Any) -> None:
    folder, output = drafted
    book = load_book(open_store(f"sqlite:///{folder / 'store.db'}"), "hubspot")
    config = rules.load_rules(folder / "territory.yaml")
    evaluation = rules.evaluate(book.accounts, config, reps=book.reps, opportunities=book.opportunities)
    causes = conflict_causes(book.accounts, evaluation.decisions())
    assert NOT_GENUINE not in causes
    assert {"inactive owner", "duplicate by domain", "unowned"} <= set(causes)
    share = 100 * sum(causes.values()) / len(book.accounts)
    assert f"({share:.1f}%) in conflict" in output
    for cause, count in causes.items():
        assert re.search(rf"{re.escape(cause)}: {count:,}\b", output)


def test_regions_follow_owners_and_outliers_become_named_when_ownership_is_contiguous() -> None:
    accounts = [rules.Account(f"A{i}", owner_id="R1", country="DE", postal_code=f"{10 + i % 30}123") for i in range(60)]
    accounts += [rules.Account(f"B{i}", owner_id="R2", country="DE", postal_code=f"{40 + i % 20}555") for i in range(40)]
    accounts += [
        rules.Account("X1", owner_id="R2", country="DE", postal_code="12345"),  # against the geography
        rules.Account("X2", owner_id="GONE", country="DE", postal_code="70000"),  # inactive owner: no vote
        rules.Account("X3", owner_id=None, country="DE", postal_code="11111"),
        rules.Account("X4", owner_id="R1", country="at", postal_code="1010"),
    ]
    draft = draft_regions(accounts, active={"R1", "R2"})
    assert draft.regions == {("R1", "AT"): [""], ("R1", "DE"): ["1-3"], ("R2", "DE"): ["4", "5"]}
    assert draft.exceptions == {"X1": "R2"}


def test_consecutive_prefixes_merge_into_ranges_when_three_or_more() -> None:
    assert merge_prefixes(["21", "20", "22", "25", "26", "9", "SW1"]) == ["20-22", "25", "26", "9", "SW1"]


_codes = st.one_of(st.none(), st.just(""), st.from_regex(r"[0-9]{1,5}", fullmatch=True),
                   st.sampled_from(["01067", "1010", "SW1A 1AA", "12.34", "-", "D-80331"]))
_accounts = st.lists(
    st.tuples(st.sampled_from([None, "R1", "R2", "R3", "R4", "GONE"]), st.sampled_from([None, "DE", "de ", "AT", "NL"]),
              _codes, st.sampled_from([None, "a.de", "b.de", "c.de"])),
    min_size=1, max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(_accounts)
def test_draft_leaves_no_conflict_of_its_own_making_when_the_book_is_anything(rows: list[Any]) -> None:
    accounts = [rules.Account(f"A{i}", owner_id=owner, country=country, postal_code=code, domain=domain)
                for i, (owner, country, code, domain) in enumerate(rows)]
    reps = [rules.Rep(r, r) for r in ("R1", "R2", "R3", "R4")] + [rules.Rep("GONE", "Gone", active=False)]
    draft = draft_from_book(Book("hubspot", accounts, reps, [], {}))
    assert NOT_GENUINE not in draft.conflict_causes
    config = rules.parse_rules(draft.text)
    owning = {a.owner_id for a in accounts if a.owner_id in {"R1", "R2", "R3", "R4"}}
    assert owning == {t.owner for t in config.territories} | {n.owner for n in config.named_accounts}
