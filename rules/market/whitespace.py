"""Whitespace: the potential of prospects no CRM account covers, per territory and rep.

Potential of a prospect (:func:`prospect_potential`): the rules file's formula, annual
revenue x share of wallet, with the revenue estimated as employees x
``revenue_per_employee`` where the list has none, times the industry's weight
(``industry_weights``, 1 when not listed), capped like accounts. Its workload is the touches
of the tier its potential reaches by the CRM book's own tier thresholds
(:func:`tiers_by_thresholds`), so a prospect worth a tier-A account costs what one does.

A territory is *too large to work* when its rep's workload including the whitespace exceeds
the rep's capacity (the seed's pump-maker finding: 40% of the untapped potential lay in such
territories).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from territory.rules.schema import Potential, Tier


def prospect_potential(revenue: Sequence[float | None], employees: Sequence[float | None],
                       industries: Sequence[str | None], potential: Potential) -> np.ndarray:
    """Potential per prospect by the rules file's formula (see the module docstring)."""
    values = []
    weights = {k.strip().casefold(): w for k, w in potential.industry_weights.items()}
    for rev, staff, industry in zip(revenue, employees, industries):
        base = rev if rev is not None and rev == rev else None
        if base is None and staff is not None and potential.revenue_per_employee is not None:
            base = staff * potential.revenue_per_employee
        weight = weights.get((industry or "").strip().casefold(), 1.0)
        values.append(max(base or 0.0, 0.0) * potential.share_of_wallet * weight)
    out = np.asarray(values, dtype=np.float64)
    return np.minimum(out, potential.cap) if potential.cap is not None else out


def tiers_by_thresholds(book_potential: np.ndarray, book_tier: np.ndarray, values: np.ndarray, tiers: Sequence[Tier]) -> np.ndarray:
    """Tier per value by the book's thresholds: the least potential in each tier of the book."""
    last = len(tiers) - 1
    out = np.full(len(values), last, dtype=np.int32)
    for k in range(last - 1, -1, -1):
        members = book_potential[book_tier <= k]
        if len(members):
            out[(values >= members.min()) & (values > 0)] = k
    return out


@dataclass
class AreaFigures:
    """CRM vs untapped figures of one territory or rep."""

    id: str
    owner_id: str | None
    crm_accounts: int = 0
    crm_potential: float = 0.0
    crm_workload: float = 0.0
    prospects: int = 0
    untapped_potential: float = 0.0
    untapped_workload: float = 0.0
    capacity: float = 0.0

    @property
    def untapped_share(self) -> float:
        total = self.crm_potential + self.untapped_potential
        return self.untapped_potential / total if total > 0 else 0.0

    @property
    def too_large(self) -> bool:
        """Workload including the whitespace exceeds the rep's capacity."""
        return self.crm_workload + self.untapped_workload > self.capacity

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "owner_id": self.owner_id, "crm_accounts": self.crm_accounts,
                "crm_potential": self.crm_potential, "crm_workload": self.crm_workload,
                "prospects": self.prospects, "untapped_potential": self.untapped_potential,
                "untapped_workload": self.untapped_workload, "capacity": self.capacity,
                "untapped_share": self.untapped_share, "too_large": self.too_large}


@dataclass
class Whitespace:
    """Per territory and per rep, plus the headline share."""

    territories: list[AreaFigures] = field(default_factory=list)
    reps: list[AreaFigures] = field(default_factory=list)

    @property
    def untapped_potential(self) -> float:
        return sum(t.untapped_potential for t in self.territories)

    @property
    def too_large_share(self) -> float:
        """Share of all untapped potential lying in territories too large to work."""
        total = self.untapped_potential
        return sum(t.untapped_potential for t in self.territories if t.too_large) / total if total > 0 else 0.0


def add_to(areas: dict[str, AreaFigures], key: str, owner: str | None, *, crm: bool, potential: float, workload: float) -> None:
    """Count one account (``crm``) or prospect into the area ``key``."""
    area = areas.setdefault(key, AreaFigures(key, owner))
    if crm:
        area.crm_accounts += 1
        area.crm_potential += potential
        area.crm_workload += workload
    else:
        area.prospects += 1
        area.untapped_potential += potential
        area.untapped_workload += workload
