"""A saved scenario before and after: owners, balance per rep, moves by reason, travel, proposals.

"Before" is the book the plan started from: the synced owners, with each moved account at the
move's ``from`` owner (so a scenario already applied still shows what it changed); "after"
puts each moved account at its ``to`` owner. Travel per visit is the planner's
workload-weighted travel (km) over the touches of the accounts it covers; where the
scenario's metrics carry travel minutes (a key naming ``minutes`` and ``before``/``after``,
per visit or in total) those are shown as well. Proposals by state come from the proposals
published to the CRM; before publishing, from the scenario's stored moves.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from territory.rules import health
from territory.sync.proposals import list_proposals
from territory.sync.report.inputs import ReportInput
from territory.sync.store import Store

Owners = tuple[list[str | None], list[str | None]]

REASON_CATEGORIES = (
    ("had no owner", "unowned account"),
    (" is inactive", "inactive owner"),
    ("does not serve", "specialist fit"),
)
BALANCE_REASON = "balance"


def reason_category(reason: str | None) -> str:
    """The planner's move reason (``"<old side>; <new side>"``) as one of a few categories."""
    old_side = (reason or "").split(";", 1)[0]
    for marker, category in REASON_CATEGORIES:
        if marker in old_side:
            return category
    return BALANCE_REASON if old_side else "unstated"


def proposal_states(store: Store, crm: str, scenario: str, move_statuses: list[str]) -> dict[str, Any]:
    """Proposals of the scenario by state: those published to ``crm`` (Proposed, Approved,
    Rejected, Applied, Superseded, Failed), else the stored moves' statuses."""
    published = list_proposals(store, crm, scenario=scenario)
    if published:
        return {"source": "proposals", "published": True,
                "by_state": dict(Counter(p.state for p in published).most_common())}
    return {"source": "plan_moves", "published": False, "by_state": dict(Counter(move_statuses).most_common())}


def owners_before_after(data: ReportInput, moves: list[Any]) -> tuple[list[str | None], list[str | None]]:
    """Owner per account before ``moves`` (their from_owner_id) and after (their to_owner_id)."""
    start = {m.account_id: m.from_owner_id for m in moves}
    target = {m.account_id: m.to_owner_id for m in moves}
    pairs = list(zip(data.account_ids, data.owner_ids))
    return [start.get(a, owner) for a, owner in pairs], [target.get(a, owner) for a, owner in pairs]


def _loads(data: ReportInput, owners: list[str | None], rep_ids: list[str]) -> dict[str, np.ndarray]:
    index = {rep_id: i for i, rep_id in enumerate(rep_ids)}
    codes = np.array([index.get(o or "", -1) for o in owners], dtype=np.int64)
    owned = codes >= 0
    size = len(rep_ids)
    return {
        "accounts": np.bincount(codes[owned], minlength=size).astype(float),
        "potential": np.bincount(codes[owned], weights=data.potential[owned], minlength=size),
        "workload": np.bincount(codes[owned], weights=data.workload[owned], minlength=size),
        "covered_workload": np.array([float(data.workload[owned].sum())]),
    }


def scenario_figures(store: Store, data: ReportInput, name: str) -> tuple[dict[str, Any], Owners]:
    """Figures of scenario ``name`` and the owners per account before and after it; KeyError
    if unknown."""
    found = store.scenarios.get(name)
    if found is None:
        known = ", ".join(store.scenarios.names()) or "none saved yet"
        raise KeyError(f"scenario {name!r} is not in the store (saved: {known})")
    scenario, moves = found
    before, after = owners_before_after(data, moves)
    reps = [r for r in data.reps if r.active or r.id in set(before) | set(after)]
    rep_ids = [r.id for r in reps]
    before_loads, after_loads = _loads(data, before, rep_ids), _loads(data, after, rep_ids)
    active = np.array([r.active for r in reps], dtype=bool)
    rows = []
    for i, rep in enumerate(reps):
        row: dict[str, Any] = {"id": rep.id, "name": rep.name or rep.id, "active": rep.active}
        for side, loads in (("before", before_loads), ("after", after_loads)):
            for key in ("accounts", "potential", "workload"):
                row[f"{key}_{side}"] = float(loads[key][i])
            for key in ("potential", "workload"):
                mean = float(loads[key][active].mean()) if active.any() else 0.0
                row[f"{key}_deviation_{side}"] = health.relative_deviation(float(loads[key][i]), mean)
        rows.append(row)
    metrics = scenario.metrics or {}
    figures = {
        "name": scenario.name,
        "created_at": scenario.created_at.isoformat(timespec="minutes") if scenario.created_at else None,
        "options": scenario.options,
        "moves": len(moves),
        "moved_potential_share": metrics.get("moved_potential_share"),
        "moves_by_reason": dict(Counter(reason_category(m.reason) for m in moves).most_common()),
        "reps": rows,
        "balance": _balance(rows),
        "travel": _travel(metrics, before_loads, after_loads),
        "proposals": proposal_states(store, str(data.source.get("crm")), scenario.name, [m.status for m in moves]),
    }
    return figures, (before, after)


def _balance(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in ("potential", "workload"):
        for side in ("before", "after"):
            values = [abs(r[f"{key}_deviation_{side}"]) for r in rows
                      if r["active"] and r[f"{key}_deviation_{side}"] is not None]
            out[f"max_deviation_{key}_{side}"] = max(values) if values else None
    return out


def _travel(metrics: dict[str, Any], before: dict[str, np.ndarray], after: dict[str, np.ndarray]) -> dict[str, Any]:
    def per_visit(km: Any, loads: dict[str, np.ndarray]) -> float | None:
        touches = float(loads["covered_workload"][0])
        return float(km) / touches if isinstance(km, int | float) and touches > 0 else None

    out: dict[str, Any] = {
        "km_per_visit_before": per_visit(metrics.get("travel_before"), before),
        "km_per_visit_after": per_visit(metrics.get("travel_after"), after),
    }
    for side, loads in (("before", before), ("after", after)):
        key, value = _minutes_metric(metrics, side)
        out[f"minutes_per_visit_{side}"] = (value if "per_visit" in key or not isinstance(value, int | float)
                                            else per_visit(value, loads))
    return out


def _minutes_metric(metrics: dict[str, Any], side: str) -> tuple[str, Any]:
    """The planner's travel-minutes figure for ``side`` (per visit preferred), or ("", None)."""
    keys = sorted((k for k in metrics if "minute" in k and side in k and "travel" in k),
                  key=lambda k: ("per_visit" not in k, k))
    return (keys[0], metrics[keys[0]]) if keys else ("", None)
