"""Tiebreakers: pick one owner when several territories match an account.

Each tiebreaker narrows the candidate territories; the chain stops as soon as the remaining
territories share a single owner. If the configured chain cannot decide, the territory with
the alphabetically first id wins (so the outcome is always deterministic), and the reason
says so. Named accounts never reach this code: they override territories outright.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from territory.rules.schema import Territory

FALLBACK = "territory_id"


@dataclass(frozen=True)
class Resolution:
    """Outcome of the territory step for one set of matches (and sourcing rep).

    Attributes:
        territory: Index (into the rules' territories) of the deciding territory, or None.
        owner: Owner the territories point to, or None when nothing matched.
        matched: Indexes of every matched territory, sorted by territory id.
        tiebreaker: The tiebreaker that decided between different owners, or None.
        steps: The decision path, one line per step (only when resolved with ``trace``).
        sourcing_rep: The sourcing rep the chain was given (None when it did not matter).
    """

    territory: int | None
    owner: str | None
    matched: tuple[int, ...]
    tiebreaker: str | None
    steps: tuple[str, ...]
    sourcing_rep: str | None = None


_SPECIFICITY: dict[int, tuple[Territory, int]] = {}


def geo_specificity(territory: Territory) -> int:
    """How precisely a territory describes a billing address: -1 not geographic, 0 country
    only, else the longest postal prefix length it uses."""
    cached = _SPECIFICITY.get(id(territory))
    if cached is not None and cached[0] is territory:
        return cached[1]
    value = _specificity(territory)
    _SPECIFICITY[id(territory)] = (territory, value)
    return value


def _specificity(territory: Territory) -> int:
    match = territory.match
    if match.postal_code is not None:
        return max(r.length for r in match.postal_ranges())
    return 0 if match.country is not None else -1


def resolve(
    matched: Sequence[int],
    territories: Sequence[Territory],
    tiebreakers: Sequence[str],
    sourcing_rep: str | None,
    loads: Mapping[str, float],
    *,
    trace: bool = False,
) -> Resolution:
    """Apply the tiebreaker chain to the matched territory indexes.

    With ``trace`` the decision path is recorded in ``steps`` (for ``territory explain``);
    bulk evaluation leaves it off because the strings cost more than the decision.
    """
    ordered = tuple(sorted(matched, key=lambda i: territories[i].id))
    if not ordered:
        return Resolution(None, None, (), None, ("no territory matched",), sourcing_rep)
    names = lambda cands: ", ".join(territories[i].id for i in cands)  # noqa: E731
    steps = [f"matched territories: {names(ordered)}"] if trace else []
    candidates = list(ordered)
    owners = {territories[i].owner for i in candidates}
    contested = len(owners) > 1
    decided_by: str | None = None
    for tiebreaker in tiebreakers:
        if len(owners) == 1:
            break
        narrow = _NARROWERS.get(tiebreaker)
        if narrow is None:  # named_account is applied before territories
            continue
        kept, why = narrow(candidates, territories, sourcing_rep, loads)
        if kept and len(kept) < len(candidates):
            if trace:
                steps.append(f"tiebreaker {tiebreaker}: {why}; kept {names(kept)}")
            candidates = kept
            owners = {territories[i].owner for i in candidates}
            decided_by = tiebreaker
        elif trace:
            steps.append(f"tiebreaker {tiebreaker}: no effect ({why})")
    if len(owners) > 1:
        if trace:
            steps.append(f"no configured tiebreaker decided; {FALLBACK}: first id {territories[candidates[0]].id} wins")
        candidates = candidates[:1]
        decided_by = FALLBACK
    winner = candidates[0]
    if trace:
        steps.append(f"territory {territories[winner].id} -> owner {territories[winner].owner}")
    return Resolution(winner, territories[winner].owner, ordered, decided_by if contested else None, tuple(steps), sourcing_rep)


Narrower = Callable[[list[int], Sequence[Territory], str | None, Mapping[str, float]], tuple[list[int], str]]


def _by_priority(cands: list[int], territories: Sequence[Territory], _s: str | None, _l: Mapping[str, float]) -> tuple[list[int], str]:
    best = max(territories[i].priority for i in cands)
    return [i for i in cands if territories[i].priority == best], f"highest priority {best}"


def _by_sourcing(cands: list[int], territories: Sequence[Territory], sourcing: str | None, _l: Mapping[str, float]) -> tuple[list[int], str]:
    if sourcing is None:
        return [], "no sourcing rep on the account"
    kept = [i for i in cands if territories[i].owner == sourcing]
    return kept, f"sourcing rep {sourcing}" + ("" if kept else " owns none of them")


def _by_billing(cands: list[int], territories: Sequence[Territory], _s: str | None, _l: Mapping[str, float]) -> tuple[list[int], str]:
    best = max(geo_specificity(territories[i]) for i in cands)
    if best < 0:
        return [], "none is defined by the billing address"
    kept = [i for i in cands if geo_specificity(territories[i]) == best]
    detail = "country" if best == 0 else f"{best}-character postal prefix"
    return kept, f"billing address territory (most specific: {detail})"


def _by_load(cands: list[int], territories: Sequence[Territory], _s: str | None, loads: Mapping[str, float]) -> tuple[list[int], str]:
    best = min(loads.get(territories[i].owner, 0.0) for i in cands)
    kept = [i for i in cands if loads.get(territories[i].owner, 0.0) == best]
    return kept, f"lowest load {best:.2f} (workload / capacity)"


_NARROWERS: dict[str, Narrower] = {
    "priority": _by_priority,
    "sourcing_rep": _by_sourcing,
    "billing_territory": _by_billing,
    "lowest_load": _by_load,
}
