"""Solver-agnostic plan validator: checks every constraint on any assignment.

Every plan the planner returns passes :func:`validate_plan`; tests and the benchmark run it on
greedy and solver plans alike. Hard rules (violation kinds):

- ``unassigned``: an account has no owner in the plan.
- ``unknown_account``: the plan assigns an id that is not in the instance.
- ``unknown_owner``: the new owner is not a rep of the instance.
- ``inactive_owner``: the new owner is inactive ("inactive reps end with nothing").
- ``locked_moved``: a locked account left its owner although that owner is active. A locked
  account whose owner is inactive or unknown must move; that is not a violation, because the
  rule "inactive reps end with nothing" takes precedence over the lock.
- ``capacity``: a rep's workload exceeds its capacity (amount = excess workload).
- ``industry``: the owner lists industries and the account's is not among them. A locked
  account that stays with its active owner is exempt (the lock wins; the data predates us).
- ``inside_rep``: a field or hybrid account ends with an inside rep (inside reps serve
  remote accounts only). A locked account that stays with its active owner is exempt.
- ``reach``: only when ``candidates`` is given: the account moved to a rep outside its
  candidate set (current owner is always allowed).

Balance (``balance_potential`` / ``balance_workload``: |load - target| / target above the
tolerance) is reported by :func:`balance_deviations`; :func:`validate_plan` includes it only
with ``balance_is_hard=True``, because a best-effort plan may miss the tolerance by design.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
from numpy.typing import NDArray

from territory.planner.instance import Instance, PlanAccount, PlanOptions, PlanRep, Violation

HARD_KINDS = (
    "unassigned",
    "unknown_account",
    "unknown_owner",
    "inactive_owner",
    "locked_moved",
    "capacity",
    "industry",
    "reach",
    "inside_rep",
)
BALANCE_KINDS = ("balance_potential", "balance_workload")
# Loads are sums of floats; a plan exactly at the tolerance must not fail on rounding.
_EPS = 1e-9


def active_mask(instance: Instance) -> NDArray[np.bool_]:
    """Boolean mask over ``instance.reps``: True where the rep is active."""
    return np.array([r.active for r in instance.reps], dtype=bool)


def balance_targets(instance: Instance) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-rep targets for potential and workload (0 for inactive reps).

    The target is the total over all accounts shared among active reps in proportion to
    ``target_weight`` (with all weights 1 it is the mean over active reps).
    """
    active = active_mask(instance)
    weights = np.array([r.target_weight for r in instance.reps], dtype=np.float64) * active
    share = weights / weights.sum() if weights.sum() > 0 else weights
    total_potential = float(sum(a.potential for a in instance.accounts))
    total_workload = float(sum(a.workload for a in instance.accounts))
    return share * total_potential, share * total_workload


def rep_loads(
    instance: Instance, assignment: Mapping[str, str | None]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Potential, workload and account count per rep (order of ``instance.reps``).

    Accounts without an owner or with an owner that is not a rep are not counted.
    """
    rep_pos = {r.id: i for i, r in enumerate(instance.reps)}
    potential = np.zeros(len(instance.reps))
    workload = np.zeros(len(instance.reps))
    count = np.zeros(len(instance.reps), dtype=np.int64)
    for account in instance.accounts:
        pos = rep_pos.get(assignment.get(account.id) or "")
        if pos is not None:
            potential[pos] += account.potential
            workload[pos] += account.workload
            count[pos] += 1
    return potential, workload, count


def relative_deviation(load: NDArray[np.float64], target: NDArray[np.float64]) -> NDArray[np.float64]:
    """(load - target) / target where target > 0, else 0 (signed)."""
    safe = np.where(target > 0, target, 1.0)
    return np.where(target > 0, (load - target) / safe, 0.0)


def validate_plan(
    instance: Instance,
    options: PlanOptions,
    assignment: Mapping[str, str],
    *,
    candidates: Mapping[str, Collection[str]] | None = None,
    balance_is_hard: bool = False,
) -> list[Violation]:
    """Check an assignment against every hard constraint of the instance.

    Args:
        instance: The planning instance.
        options: Planner options (the tolerance matters only with ``balance_is_hard``).
        assignment: Account id -> new owner id; must cover every account.
        candidates: Optional reach check: account id -> rep ids it may move to.
        balance_is_hard: Also report balance beyond the tolerance as violations.

    Returns:
        All violations found, accounts first, then reps; empty means the plan is valid.
    """
    reps = {r.id: r for r in instance.reps}
    violations: list[Violation] = []
    known = {a.id for a in instance.accounts}
    for account_id in assignment:
        if account_id not in known:
            violations.append(
                Violation("unknown_account", account_id, f"{account_id} is not an account of the instance")
            )
    for account in instance.accounts:
        violations.extend(_account_violations(account, assignment.get(account.id), reps, candidates))
    violations.extend(_capacity_violations(instance, assignment))
    if balance_is_hard:
        violations.extend(balance_deviations(instance, options, assignment))
    return violations


def _account_violations(
    account: PlanAccount,
    new_owner: str | None,
    reps: Mapping[str, PlanRep],
    candidates: Mapping[str, Collection[str]] | None,
) -> list[Violation]:
    if not new_owner:
        return [Violation("unassigned", account.id, f"{account.id} has no owner in the plan")]
    rep = reps.get(new_owner)
    if rep is None:
        return [
            Violation("unknown_owner", account.id, f"{account.id} is assigned to unknown rep {new_owner}")
        ]
    found: list[Violation] = []
    old_rep = reps.get(account.owner_id or "")
    lock_binds = account.locked and old_rep is not None and old_rep.active
    if not rep.active:
        found.append(
            Violation("inactive_owner", account.id, f"{account.id} is assigned to inactive rep {rep.id}")
        )
    if lock_binds and new_owner != account.owner_id:
        found.append(
            Violation(
                "locked_moved",
                account.id,
                f"locked {account.id} moved from {account.owner_id} to {new_owner}",
            )
        )
    stays_locked = lock_binds and new_owner == account.owner_id
    if not stays_locked and not rep.serves(account.industry):
        found.append(
            Violation(
                "industry",
                account.id,
                f"{rep.id} does not serve {account.industry or 'unknown industry'} ({account.id})",
            )
        )
    if not stays_locked and not rep.may_visit(account):
        found.append(
            Violation(
                "inside_rep",
                account.id,
                f"{rep.label} ({rep.id}) is an inside rep and {account.name or account.id} ({account.id}) "
                f"is a {account.visit_mode} account that needs visits",
            )
        )
    if (
        candidates is not None
        and new_owner != account.owner_id
        and new_owner not in candidates.get(account.id, ())
    ):
        found.append(
            Violation("reach", account.id, f"{account.id} moved to {new_owner}, outside its candidate reps")
        )
    return found


def _capacity_violations(instance: Instance, assignment: Mapping[str, str]) -> list[Violation]:
    _, workload, _ = rep_loads(instance, assignment)
    found = []
    for pos, rep in enumerate(instance.reps):
        excess = workload[pos] - rep.capacity
        if excess > _EPS * max(1.0, rep.capacity):
            found.append(
                Violation(
                    "capacity",
                    rep.id,
                    f"{rep.id} workload {workload[pos]:.1f} exceeds capacity {rep.capacity:.1f}",
                    float(excess),
                )
            )
    return found


def balance_deviations(
    instance: Instance, options: PlanOptions, assignment: Mapping[str, str]
) -> list[Violation]:
    """Active reps whose potential or workload deviates from target beyond the tolerance.

    ``amount`` is the relative deviation beyond the tolerance (0.03 = 3 points over).
    """
    potential, workload, _ = rep_loads(instance, assignment)
    target_p, target_w = balance_targets(instance)
    found = []
    for kind, load, target in (
        ("balance_potential", potential, target_p),
        ("balance_workload", workload, target_w),
    ):
        deviation = relative_deviation(load, target)
        for pos, rep in enumerate(instance.reps):
            if rep.active and abs(deviation[pos]) > options.tolerance + _EPS:
                measure = kind.removeprefix("balance_")
                found.append(
                    Violation(
                        kind,
                        rep.id,
                        f"{rep.id} {measure} is {deviation[pos]:+.1%} from target "
                        f"(tolerance {options.tolerance:.0%})",
                        float(abs(deviation[pos]) - options.tolerance),
                    )
                )
    return found
