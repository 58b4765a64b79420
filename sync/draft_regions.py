"""Cut a synced book into postal regions that say who owns what today (for ``rules draft``).

Per country, accounts are placed in a trie of their normalised postal codes. A node either
becomes one region, owned by the active rep who owns most of its accounts, or is split by the
next character, whichever needs fewer rules entries: one entry per region plus one named
account per account that its owner holds outside that owner's regions (an *exception*).
Splitting stops by itself where it does not pay, so a contiguous postal range stays one
prefix and an account assigned against the geography becomes a named account of its owner.

Accounts owned by nobody or by an inactive rep do not vote: their region goes to whichever
active rep owns the rest, and they stay what they are (unowned, inactive owner), genuine
conflicts for a human to settle.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from territory import rules

_NOT_ALNUM = re.compile(r"[^0-9A-Z]")


@dataclass(frozen=True)
class _Item:
    account_id: str
    code: str  # normalised postal code, cut at the first character a prefix cannot hold
    owner: str | None  # the active owner, None for unowned or inactive-owned accounts


@dataclass
class RegionDraft:
    """Regions per (owner, country) and the accounts named for their owner."""

    regions: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # "" = whole country
    exceptions: dict[str, str] = field(default_factory=dict)  # account id -> owner


@dataclass
class _Cut:
    cost: int = 0
    leaves: list[tuple[str, str]] = field(default_factory=list)  # (prefix, owner)
    exceptions: list[_Item] = field(default_factory=list)


def draft_regions(accounts: Iterable[rules.Account], active: set[str]) -> RegionDraft:
    """Regions and named exceptions that reproduce today's active owners of ``accounts``.

    Accounts without a country cannot be matched by a territory; those of an active owner
    are named for them.
    """
    by_country: dict[str, list[_Item]] = defaultdict(list)
    draft = RegionDraft()
    for account in accounts:
        country = (account.country or "").strip().upper()
        if not country:
            if account.owner_id in active:
                draft.exceptions[account.id] = account.owner_id
            continue
        code = rules.normalize_postal_code(account.postal_code)
        cut = _NOT_ALNUM.search(code)
        owner = account.owner_id if account.owner_id in active else None
        by_country[country].append(_Item(account.id, code[: cut.start()] if cut else code, owner))
    for country, items in sorted(by_country.items()):
        best = _best_cut(items, 0)
        for prefix, owner in best.leaves:
            draft.regions.setdefault((owner, country), []).append(prefix)
        draft.exceptions.update({item.account_id: item.owner for item in best.exceptions if item.owner})
    draft.regions = {key: merge_prefixes(prefixes) for key, prefixes in sorted(draft.regions.items())}
    return draft


def _best_cut(items: Sequence[_Item], depth: int) -> _Cut:
    """The cheaper of one region for all ``items`` and the best cut of each child."""
    owners = Counter(item.owner for item in items if item.owner)
    if not owners:
        return _Cut()  # nobody active owns anything here: no region, nothing to name
    leader = min(owners, key=lambda rep: (-owners[rep], rep))
    prefix = items[0].code[:depth]
    leaf = _Cut(1, [(prefix, leader)], [item for item in items if item.owner not in (None, leader)])
    leaf.cost += len(leaf.exceptions)
    if not leaf.exceptions:
        return leaf
    children: dict[str, list[_Item]] = defaultdict(list)
    split = _Cut()
    for item in items:
        if len(item.code) > depth:
            children[item.code[depth]].append(item)
        elif item.owner:  # the code ends here: no longer prefix can hold it
            split.exceptions.append(item)
    split.cost = len(split.exceptions)
    if split.cost >= leaf.cost:
        return leaf
    for char in sorted(children):
        child = _best_cut(children[char], depth + 1)
        split.cost += child.cost
        split.leaves += child.leaves
        split.exceptions += child.exceptions
        if split.cost >= leaf.cost:
            return leaf
    return split


def merge_prefixes(prefixes: Sequence[str]) -> list[str]:
    """Sorted prefixes, runs of consecutive numeric ones of equal length as ranges ("20-23")."""
    out: list[str] = []
    run: list[str] = []
    for prefix in sorted(prefixes, key=lambda p: (len(p), p)):
        if run and prefix.isdigit() and run[-1].isdigit() and len(prefix) == len(run[-1]) \
                and int(prefix) == int(run[-1]) + 1:
            run.append(prefix)
            continue
        out.extend(_close_run(run))
        run = [prefix]
    out.extend(_close_run(run))
    return sorted(out)


def _close_run(run: list[str]) -> list[str]:
    if len(run) < 3:
        return list(run)
    return [f"{run[0]}-{run[-1]}"]
