"""Does a rules file fit the book? Criteria that match nothing, territories their rep does not hold.

A rules file can be valid and still describe a different book: a postal entry with a typo, an
industry spelled otherwise than in the CRM, a territory given to a rep who owns none of its
accounts. :func:`check_book_fit` finds those places and names their line in the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from territory.rules.matching import MatchIndex
from territory.rules.records import Account
from territory.rules.schema import Match, RulesConfig
from territory.rules.table import AccountTable

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class FitWarning:
    """One place where the rules and the book disagree."""

    line: int
    column: int
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "column": self.column, "message": self.message}


def check_book_fit(rules: RulesConfig, accounts: Sequence[Account]) -> list[FitWarning]:
    """Warnings, in file order, for criteria entries and territories that match no account of
    ``accounts`` and territories whose owner owns none of the accounts they cover."""
    if not accounts:
        return []
    table = AccountTable.from_accounts(accounts)
    owners = np.array([account.owner_id or "" for account in accounts], dtype=object)
    probes: list[tuple[Loc, Match, str]] = []
    whole: list[int] = []  # the probe of each territory's whole match
    for index, territory in enumerate(rules.territories):
        whole.append(len(probes))
        probes.append((("territories", index, "match"), territory.match, f"territory {territory.id}"))
        probes += _entry_probes(("territories", index, "match"), territory.match, f"territory {territory.id}")
    masks = MatchIndex([match for _, match, _ in probes]).masks(table)
    found: list[tuple[Loc, str]] = []
    for (loc, _, label), mask in zip(probes, masks, strict=True):
        if not mask.any():
            found.append((loc, f"{label}{_entry(loc)} matches no account of the book"))
    for index, territory in enumerate(rules.territories):
        covered = masks[whole[index]]
        if covered.any() and not (owners[covered] == territory.owner).any():
            found.append((("territories", index, "owner"),
                          f"territory {territory.id}: its owner {territory.owner} owns none of the "
                          f"{int(covered.sum()):,} accounts it covers"))
    ids = {account.id for account in accounts}
    for index, entry in enumerate(rules.named_accounts):
        if entry.account is not None and entry.account not in ids:
            found.append((("named_accounts", index, "account"), f"named account {entry.account} is not in the book"))
    return sorted((_located(rules, loc, message) for loc, message in found), key=lambda w: (w.line, w.column))


def check_inactive_owners(rules: RulesConfig, inactive: set[str]) -> list[FitWarning]:
    """Warnings for territories and named entries owned by an inactive rep."""
    found: list[tuple[Loc, str]] = []
    for index, territory in enumerate(rules.territories):
        if territory.owner in inactive:
            found.append((("territories", index, "owner"), f"territory {territory.id} is owned by inactive rep {territory.owner}"))
    for index, entry in enumerate(rules.named_accounts):
        if entry.owner in inactive:
            found.append((("named_accounts", index, "owner"), f"named {entry.describe()} is owned by inactive rep {entry.owner}"))
    return [_located(rules, loc, f"{message}; its accounts will show inactive_owner") for loc, message in found]


def _entry_probes(loc: Loc, match: Match, label: str) -> list[tuple[Loc, Match, str]]:
    """One single-entry match per list entry (a postal entry keeps its territory's countries)."""
    probes: list[tuple[Loc, Match, str]] = []
    for name in ("country", "postal_code", "industry"):
        values = getattr(match, name) or []
        if len(values) < 2:
            continue  # a one-entry list is the whole criterion: the territory's probe covers it
        for position, value in enumerate(values):
            fields: dict[str, object] = {name: [value]}
            if name == "postal_code" and match.country:
                fields["country"] = match.country
            probes.append(((*loc, name, position), Match.model_validate(fields), label))
    return probes


def _entry(loc: Loc) -> str:
    return "" if loc[-1] == "match" else f": {loc[-2]} entry"


def _located(rules: RulesConfig, loc: Loc, message: str) -> FitWarning:
    origin = rules._origin
    if origin is None:
        return FitWarning(0, 0, message)
    line, column = origin.position(loc)
    if isinstance(loc[-1], int):  # name the entry as written
        node = origin.node_at(loc)
        message = message.replace(f"{loc[-2]} entry", f"{loc[-2]} entry {node.value!r}")
    return FitWarning(line, column, message)
