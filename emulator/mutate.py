"""Change a fraction of the CRM "as humans would": the incremental phase of tests and benchmarks.

Every change goes through :meth:`CrmState.touch` / :meth:`CrmState.delete`, so it bumps
``modified_at`` exactly like an edit in the CRM's UI. Per picked account: ~5% are deleted, the
rest get one typical edit (owner handover, headcount, revenue, postal code fixed or corrected,
name tidied, industry re-classified, website, relocation); ~5% as many new accounts appear.
Per picked opportunity: ~6% deleted, ~10% closed (won/lost), the rest advance a stage, change
amount or close date, or change hands; ~8% as many new opportunities are created.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from territory.emulator import _seed_words as words
from territory.emulator.cities import CITIES, city_by_name, vary_postal_code
from territory.emulator.seed import draft_account
from territory.emulator.state import CrmState, EmuAccount, EmuOpportunity

_ACCOUNT_EDITS = ("owner", "employees", "revenue", "postal_code", "name", "industry", "domain", "move")
_ACCOUNT_EDIT_WEIGHTS = (30, 15, 10, 10, 10, 10, 10, 5)
_OPP_EDITS = ("stage", "amount", "close_date", "owner")
_OPP_EDIT_WEIGHTS = (40, 25, 25, 10)


@dataclass
class MutationReport:
    """How many records of each kind were updated, deleted and created."""

    accounts: dict[str, int] = field(default_factory=lambda: {"updated": 0, "deleted": 0, "created": 0})
    opportunities: dict[str, int] = field(
        default_factory=lambda: {"updated": 0, "deleted": 0, "created": 0}
    )

    def as_dict(self) -> dict[str, Any]:
        """Plain dict, for JSON."""
        return asdict(self)


def mutate_state(state: CrmState, fraction: float = 0.01, seed: int = 1) -> MutationReport:
    """Change about ``fraction`` of live accounts and of live opportunities.

    Args:
        state: The emulator state to change.
        fraction: Share (0..1) of live accounts and of live opportunities to touch.
        seed: Same seed and same starting state give the same changes.

    Returns:
        Counts per kind.
    """
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be between 0 and 1")
    rng = random.Random(seed)
    report = MutationReport()
    with state.lock:
        owners = sorted(n for n, o in state.owners.items() if o.is_active)
        accounts = sorted((a for a in state.accounts.values() if not a.deleted), key=lambda a: a.n)
        opps = sorted((o for o in state.opportunities.values() if not o.deleted), key=lambda o: o.n)
        _mutate_accounts(state, rng, accounts, owners, fraction, report)
        _mutate_opportunities(state, rng, opps, accounts, owners, fraction, report)
    return report


def _count(fraction: float, population: int) -> int:
    return min(population, math.ceil(fraction * population)) if fraction > 0 else 0


def _mutate_accounts(
    state: CrmState, rng: random.Random, accounts: list[EmuAccount], owners: list[int],
    fraction: float, report: MutationReport,
) -> None:
    picked = rng.sample(accounts, _count(fraction, len(accounts)))
    for account in picked:
        if rng.random() < 0.05:
            state.delete(account)
            report.accounts["deleted"] += 1
            continue
        edit = rng.choices(_ACCOUNT_EDITS, weights=_ACCOUNT_EDIT_WEIGHTS)[0]
        state.touch(account, **_account_changes(rng, account, edit, owners))
        report.accounts["updated"] += 1
    creates = round(len(picked) * 0.05)
    if creates:
        used = {a.domain for a in state.accounts.values() if a.domain}
        for _ in range(creates):
            new = draft_account(rng, state.next_n(), state.tick(), used)
            new.owner_n = rng.choice(owners) if owners else None
            state.accounts[new.n] = new
            report.accounts["created"] += 1


def _account_changes(
    rng: random.Random, account: EmuAccount, edit: str, owners: list[int]
) -> dict[str, Any]:
    """One human edit of ``account`` (the key names are EmuAccount fields)."""
    if edit == "owner" and owners:
        return {"owner_n": rng.choice([n for n in owners if n != account.owner_n] or owners)}
    if edit == "employees":
        return {"employees": max(1, round((account.employees or 10) * rng.uniform(0.8, 1.3)))}
    if edit == "revenue":
        base = account.annual_revenue or (account.employees or 10) * 150_000
        return {"annual_revenue": round(base * rng.uniform(0.85, 1.25), -3)}
    city = _city_of(account)
    if edit == "postal_code" and city is not None:
        return {"postal_code": vary_postal_code(city, rng)}
    if edit == "name":
        return {"name": _tidy_name(rng, account.name)}
    if edit == "industry":
        return {"industry": rng.choice(list(words.INDUSTRY_WEIGHTS))}
    if edit == "domain":
        if account.domain is None:
            return {"domain": f"{words.slug(account.name)}.de"}
        stem, _, tld = account.domain.rpartition(".")
        return {"domain": f"{stem}.{'com' if tld != 'com' else 'de'}"}
    target = rng.choice(CITIES)
    return {
        "city": target.name, "country": target.country,
        "postal_code": vary_postal_code(target, rng),
        "lat": round(target.lat + rng.gauss(0, 0.02), 6), "lon": round(target.lon + rng.gauss(0, 0.03), 6),
    }


def _city_of(account: EmuAccount) -> Any:
    try:
        return city_by_name(account.city) if account.city else None
    except KeyError:
        return None


def _tidy_name(rng: random.Random, name: str) -> str:
    if name.isupper():
        return name.title()
    if name.endswith(" GmbH"):
        return name[: -len(" GmbH")] + (" GmbH & Co. KG" if rng.random() < 0.5 else " AG")
    return name.strip() + " GmbH" if rng.random() < 0.5 else name.replace("  ", " ").strip() + " (neu)"


def _mutate_opportunities(
    state: CrmState, rng: random.Random, opps: list[EmuOpportunity], accounts: list[EmuAccount],
    owners: list[int], fraction: float, report: MutationReport,
) -> None:
    picked = rng.sample(opps, _count(fraction, len(opps)))
    stages = [s for s, _ in words.OPEN_STAGES]
    for opp in picked:
        roll = rng.random()
        if roll < 0.06:
            state.delete(opp)
            report.opportunities["deleted"] += 1
            continue
        if roll < 0.16 or opp.is_closed:
            changes: dict[str, Any] = {"stage": rng.choice(("Closed Won", "Closed Lost")), "is_closed": True}
        else:
            changes = _open_opp_changes(rng, opp, stages, owners)
        state.touch(opp, **changes)
        report.opportunities["updated"] += 1
    live_accounts = [a for a in accounts if not a.deleted]
    for _ in range(round(len(picked) * 0.08) if live_accounts else 0):
        account = rng.choice(live_accounts)
        stamp = state.tick()
        n = state.next_n()
        state.opportunities[n] = EmuOpportunity(
            n=n, name=f"{account.name} – {rng.choice(words.OPPORTUNITY_TOPICS)}",
            account_n=account.n, owner_n=account.owner_n or (rng.choice(owners) if owners else None),
            amount=round(rng.lognormvariate(math.log(25_000), 1.1), -2), stage="Prospecting",
            close_date=stamp.date() + timedelta(days=rng.randint(30, 180)),
            created_at=stamp, modified_at=stamp,
        )
        report.opportunities["created"] += 1


def _open_opp_changes(
    rng: random.Random, opp: EmuOpportunity, stages: list[str], owners: list[int]
) -> dict[str, Any]:
    edit = rng.choices(_OPP_EDITS, weights=_OPP_EDIT_WEIGHTS)[0]
    if edit == "stage":
        at = stages.index(opp.stage) if opp.stage in stages else 0
        return {"stage": stages[min(len(stages) - 1, at + 1)]}
    if edit == "amount":
        return {"amount": round((opp.amount or 10_000) * rng.uniform(0.7, 1.5), -2)}
    if edit == "close_date":
        return {"close_date": opp.close_date + timedelta(days=rng.randint(14, 90))}
    return {"owner_n": rng.choice([n for n in owners if n != opp.owner_n] or owners)} if owners else {}
