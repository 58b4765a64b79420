"""Sentences a sales manager understands: why an account moves, what blocks the tolerance.

Pure functions over the problem arrays and the final assignment; no solver calls.
"""

from __future__ import annotations

import math

import numpy as np

from territory.planner.problem import ProblemData


def _pct(value: float) -> str:
    return f"{value:.0%}" if abs(value) >= 0.095 else f"{value:.1%}"


def move_reasons(data: ProblemData, assign: np.ndarray, tolerance: float) -> dict[int, str]:
    """Reason per moved account position, from the *starting* loads of its old and new rep.

    Reps are named as people read them (``PlanRep.label``); distances are drive minutes."""
    reps = data.instance.reps
    start = np.where(data.owner >= 0, data.owner, 0)
    valid = data.owner >= 0
    load_p = np.bincount(start[valid], data.potential[valid], minlength=data.m)
    load_w = np.bincount(start[valid], data.workload[valid], minlength=data.m)
    dev_p = np.where(data.target_p > 0, load_p / np.maximum(data.target_p, 1e-12) - 1, 0)
    dev_w = np.where(data.target_w > 0, load_w / np.maximum(data.target_w, 1e-12) - 1, 0)
    reasons: dict[int, str] = {}
    for a in np.flatnonzero(assign != data.owner):
        new = int(assign[a])
        old = int(data.owner[a])
        new_side = _new_side(data, int(a), old, new, dev_p, dev_w)
        if old < 0:
            reasons[int(a)] = f"had no owner; {new_side}"
        elif not data.active[old]:
            lock = " (its lock cannot hold)" if data.released[a] else ""
            reasons[int(a)] = f"{reps[old].label} is inactive{lock}; {new_side}"
        elif not data.mode_ok[a, old] and not data.fixed[a]:
            mode = data.instance.accounts[a].visit_mode
            reasons[int(a)] = f"{reps[old].label} is an inside rep and the account is {mode} (needs visits); {new_side}"
        elif not data.eligible[a, old] and not data.fixed[a]:
            industry = data.instance.accounts[a].industry or "its industry"
            reasons[int(a)] = f"{reps[old].label} does not serve {industry}; {new_side}"
        else:
            reasons[int(a)] = f"{_old_side(reps[old].label, dev_p[old], dev_w[old], tolerance)}; {new_side}"
    return reasons


def _old_side(rep: str, dev_p: float, dev_w: float, tolerance: float) -> str:
    measure, dev = ("potential", dev_p) if abs(dev_p) >= abs(dev_w) else ("workload", dev_w)
    if dev > tolerance:
        return f"{rep} is {_pct(dev)} over the {measure} target"
    if dev < -tolerance:
        return f"{rep} is {_pct(-dev)} under the {measure} target and hands over a distant account"
    return f"{rep} is within tolerance and passes the account on to balance its neighbours"


def _new_side(data: ProblemData, a: int, old: int, new: int, dev_p: np.ndarray, dev_w: np.ndarray) -> str:
    rep = data.instance.reps[new].label
    if dev_p[new] < 0 or dev_w[new] < 0:
        state = "under target"
    else:
        state = "has room within tolerance"
    if data.instance.accounts[a].visit_mode == "remote":
        return f"{rep} serves it remotely and is {state}"
    if old >= 0:
        gain = float(data.drive[a, old] - data.drive[a, new])
        if gain >= 0.5:
            return f"{rep} is {gain:.0f} min closer per visit and {state}"
        return f"{rep} is {-gain:.0f} min farther per visit but {state}"
    return f"{rep} is {data.drive[a, new]:.0f} min away and {state}"


def precedence_notes(data: ProblemData) -> list[str]:
    """Hard-rule conflicts resolved by precedence (see ``planner.candidates``)."""
    notes: list[str] = []
    reps = data.instance.reps
    if data.released.any():
        owners = sorted({reps[o].label if o >= 0 else "unknown" for o in data.owner[data.released]})
        notes.append(
            f"{int(data.released.sum())} locked accounts belong to inactive or unknown reps ({', '.join(owners[:5])}): "
            "every account needs an active owner, which takes precedence over the lock, so they were reassigned."
        )
    if data.orphaned.any():
        industries = sorted({data.instance.accounts[a].industry or "(none)" for a in np.flatnonzero(data.orphaned)})
        notes.append(
            f"{int(data.orphaned.sum())} accounts are in industries no active rep serves ({', '.join(industries[:5])}): "
            "they went to their nearest active reps; add a rep who serves them."
        )
    return notes


def binding_explanations(
    data: ProblemData,
    tolerance: float,
    achieved: tuple[float, float],
    best: float | None = None,
    binding: dict[str, np.ndarray] | None = None,
    others: float | None = None,
) -> list[str]:
    """What keeps the plan from the tolerance, most specific first, with the fix.

    Args:
        data: Problem arrays.
        tolerance: The requested tolerance.
        achieved: The plan's max deviation of potential and workload.
        best: The LP's smallest worst deviation at this reach (None when capacity alone
            cannot hold the workload, or the LP had no answer).
        binding: Rep positions whose rows hold that bound (``planner.band``).
        others: The band every other rep is kept in (best effort), when known.
    """
    shortfall = _capacity_shortfall(data)
    if shortfall:
        return [shortfall]
    dev_p, dev_w = achieved
    worst = max(dev_p, dev_w)
    found = structural_limits(data, tolerance, max(worst, best or 0.0))
    if best is not None:
        found.insert(0, _best_reachable(data, tolerance, achieved, best, binding or {}, others))
    elif not found:
        found.append(
            f"The best plan found misses ±{_pct(tolerance)}: max deviation {_pct(dev_p)} on potential and "
            f"{_pct(dev_w)} on workload within the allowed reach; raise tolerance to "
            f"{_ceil_pct(worst)} or widen the reach."
        )
    return found


def structural_limits(data: ProblemData, tolerance: float, fix: float = 0.0) -> list[str]:
    """What keeps the tolerance out of reach whatever the reach: specialists with more demand
    than they can hold, locked accounts above a rep's band, a capacity below it (the tolerance
    to suggest is at least ``fix``)."""
    return _industry_limits(data, tolerance, fix) + _lock_limits(data, tolerance) + _capacity_limits(data, tolerance)


def _ceil_pct(value: float) -> str:
    """A tolerance at or above ``value``, rounded up to a whole percent."""
    return f"{math.ceil(value * 100 - 1e-6)}%"


def _best_reachable(
    data: ProblemData,
    tolerance: float,
    achieved: tuple[float, float],
    best: float,
    binding: dict[str, np.ndarray],
    others: float | None,
) -> str:
    """The LP's best reachable tolerance, what this plan achieves, and the reps that bind it."""
    dev_p, dev_w = achieved
    text = (
        f"±{_pct(tolerance)} is out of reach: no plan within the allowed reach keeps every rep closer than "
        f"±{best:.2%} on both measures (LP bound, the best reachable tolerance); this plan's worst deviation is "
        f"{_pct(dev_p)} on potential and {_pct(dev_w)} on workload."
    )
    causes = _binding_causes(data, binding)
    if causes:
        text += " What binds: " + "; ".join(causes) + "."
    if others is not None:
        text += f" Every other rep is kept within ±{_pct(others)}."
    return text + f" Raise tolerance to {_ceil_pct(max(dev_p, dev_w))} to have it met."


def _binding_causes(data: ProblemData, binding: dict[str, np.ndarray]) -> list[str]:
    """Binding reps grouped by why: specialists, locked accounts, capacity, the rest reach."""
    reps = data.instance.reps
    tight = sorted({int(r) for kind in ("potential", "workload") for r in binding.get(kind, [])})
    capacity = {int(r) for r in binding.get("capacity", [])}
    locked_ratio = _locked_ratio(data)
    groups: dict[str, list[str]] = {}
    for r in sorted(set(tight) | capacity):
        if r in capacity:
            kind = "capacity"
        elif reps[r].industries and _restricted_industries(data, r):
            kind = "specialists (" + ", ".join(sorted(_restricted_industries(data, r))) + ")"
        elif locked_ratio[r] > 1.0:
            kind = "locked accounts"
        else:
            kind = "reach (the accounts near them cannot balance them)"
        groups.setdefault(kind, []).append(reps[r].id)
    return [f"{kind}: {', '.join(ids[:8])}{' and more' if len(ids) > 8 else ''}" for kind, ids in groups.items()]


def _restricted_industries(data: ProblemData, rep: int) -> set[str]:
    """Industries the rep serves that only some active reps serve."""
    accounts = data.instance.accounts
    rows = np.flatnonzero(data.eligible[:, rep] & (data.eligible.sum(axis=1) < data.active.sum()))
    return {accounts[a].industry or "(none)" for a in rows}


def _locked_ratio(data: ProblemData) -> np.ndarray:
    """Locked load over target per rep (the larger of potential and workload)."""
    owners = data.owner[data.fixed]
    ratio_p = np.bincount(owners, data.potential[data.fixed], minlength=data.m) / np.maximum(data.target_p, 1e-12)
    ratio_w = np.bincount(owners, data.workload[data.fixed], minlength=data.m) / np.maximum(data.target_w, 1e-12)
    return np.maximum(ratio_p, ratio_w)


def _capacity_shortfall(data: ProblemData) -> str | None:
    """Total capacity below total workload: no tolerance helps; say by how much."""
    total, room = float(data.workload.sum()), float(data.capacity[data.active].sum())
    if room >= total:
        return None
    short = total - room
    return (
        f"Total workload {total:,.0f} exceeds the active reps' total capacity {room:,.0f}: capacity falls short "
        f"by {short:,.0f} ({short / max(total, 1e-12):.1%} of the workload), so no tolerance can help; add a rep "
        f"or raise capacities by at least {short:,.0f}."
    )


def _industry_limits(data: ProblemData, tolerance: float, fix: float) -> list[str]:
    """Industries served only by some reps whose demand exceeds what they can hold."""
    out: list[str] = []
    accounts = data.instance.accounts
    industries = sorted({a.industry for a in accounts if a.industry is not None})
    codes = np.array([a.industry or "" for a in accounts])
    total_p, total_w = data.potential.sum(), data.workload.sum()
    for industry in industries:
        rows = codes == industry
        first = np.flatnonzero(rows)[0]
        servers = data.eligible[first]
        # inside reps are not specialists: they take remote accounts of every industry
        if servers.sum() == (data.active & data.mode_ok[first]).sum() or not servers.any():
            continue
        # accounts that only these reps may serve (any industry)
        captive = ~(data.eligible & ~servers[None, :]).any(axis=1) & data.eligible.any(axis=1)
        names = ", ".join(r.id for r, s in zip(data.instance.reps, servers) if s)
        for measure, values, target, total in (
            ("potential", data.potential, data.target_p, total_p),
            ("workload", data.workload, data.target_w, total_w),
        ):
            demand = values[captive].sum()
            room = target[servers].sum() * (1 + tolerance)
            if measure == "workload" and demand > data.capacity[servers].sum() * (1 + 1e-9):
                out.append(
                    f"{industry} workload {demand:,.0f} exceeds the capacity of its {int(servers.sum())} specialists "
                    f"({names}: {data.capacity[servers].sum():,.0f}): add a specialist or raise their capacity."
                )
            if demand > room * (1 + 1e-9) and total > 0:
                needed = demand / max(target[servers].sum(), 1e-12) - 1
                out.append(
                    f"{industry} demand is {_pct(demand / total)} of {measure}, its {int(servers.sum())} specialists "
                    f"({names}) can hold at most {_pct(room / total)} at ±{_pct(tolerance)}: raise tolerance to "
                    f"{_ceil_pct(max(needed, fix))} or add a specialist."
                )
    return out


def _lock_limits(data: ProblemData, tolerance: float) -> list[str]:
    out: list[str] = []
    owners = data.owner[data.fixed]
    for measure, values, target in (("potential", data.potential, data.target_p), ("workload", data.workload, data.target_w)):
        locked = np.bincount(owners, values[data.fixed], minlength=data.m)
        ratio = locked / np.maximum(target, 1e-12)
        for r in np.flatnonzero(data.active & (ratio > 1 + tolerance + 1e-9)):
            out.append(
                f"{data.instance.reps[r].id}'s locked accounts alone hold {_pct(ratio[r])} of its {measure} target: "
                f"unlock some or raise tolerance to {_ceil_pct(ratio[r] - 1)}."
            )
    return out


def _capacity_limits(data: ProblemData, tolerance: float) -> list[str]:
    out: list[str] = []
    floor = data.target_w * (1 - tolerance)
    for r in np.flatnonzero(data.active & (data.capacity < floor - 1e-9)):
        needed = 1 - data.capacity[r] / max(data.target_w[r], 1e-12)
        out.append(
            f"{data.instance.reps[r].id}'s capacity {data.capacity[r]:,.0f} is below the lowest balanced workload "
            f"{floor[r]:,.0f}: raise its capacity or tolerance to {_ceil_pct(needed)}."
        )
    return out
