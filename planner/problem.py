"""The instance as arrays, with the hard-rule precedence applied once for every phase.

:class:`ProblemData` is what every solving phase reads (LP, repair, search, reasons); the
precedence of the hard rules it encodes is described in ``planner.candidates``. Travel is in
drive minutes (``planner.travel``): ``dist`` is the travel cost per unit of workload (drive
minutes x the account's travel weight: 0 remote, 0.5 hybrid, 1 field), ``drive`` the plain
drive minutes that reach and reasons use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from territory.planner.distance import DistanceModel
from territory.planner.instance import Instance
from territory.planner.travel import drive_minutes, mode_mask, travel_weights
from territory.planner.validate import balance_targets

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class ProblemData:
    """Instance as arrays (account order and rep order as in the instance)."""

    instance: Instance
    potential: FloatArray
    workload: FloatArray
    owner: IntArray  # current owner position, -1 when none or unknown
    fixed: BoolArray  # locked with an active owner: cannot move
    released: BoolArray  # locked, but the owner is inactive or unknown
    active: BoolArray
    capacity: FloatArray
    target_p: FloatArray
    target_w: FloatArray
    eligible: BoolArray  # [n, m] active rep that serves the account's industry and visit mode
    orphaned: BoolArray  # accounts no active rep may serve by industry
    dist: FloatArray  # [n, m] travel cost per unit of workload: drive minutes x travel weight
    drive: FloatArray  # [n, m] drive minutes from the rep's home to the account
    mode_ok: BoolArray  # [n, m] the rep may take the account by visit mode (inside reps: remote only)
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.potential.size)

    @property
    def m(self) -> int:
        return int(self.active.size)

    @property
    def owner_active(self) -> BoolArray:
        safe = np.where(self.owner >= 0, self.owner, 0)
        return (self.owner >= 0) & self.active[safe]


def build_problem_data(instance: Instance, distance: DistanceModel | None = None) -> ProblemData:
    """Arrays for the solver, with the hard-rule precedence applied (see module docstring).

    ``distance`` replaces the drive minutes (any consistent travel unit); None: minutes from
    ``instance.travel`` (the drive-time matrix where given, else the estimate).
    """
    rep_pos = {r.id: i for i, r in enumerate(instance.reps)}
    accounts = instance.accounts
    active = np.array([r.active for r in instance.reps], dtype=bool)
    owner = np.array([rep_pos.get(a.owner_id or "", -1) for a in accounts], dtype=np.int64)
    locked = np.array([a.locked for a in accounts], dtype=bool)
    owner_active = (owner >= 0) & active[np.where(owner >= 0, owner, 0)]
    mode_ok = mode_mask(instance)
    eligible = _eligibility(instance, active) & mode_ok
    target_p, target_w = balance_targets(instance)
    shape = (len(accounts), len(instance.reps))
    drive = drive_minutes(instance) if distance is None else np.asarray(distance.matrix(), dtype=np.float64)
    drive = drive.reshape(shape)
    data = ProblemData(
        instance=instance,
        potential=np.array([a.potential for a in accounts], dtype=np.float64),
        workload=np.array([a.workload for a in accounts], dtype=np.float64),
        owner=owner,
        fixed=locked & owner_active,
        released=locked & ~owner_active,
        active=active,
        capacity=np.array([r.capacity for r in instance.reps], dtype=np.float64),
        target_p=target_p,
        target_w=target_w,
        eligible=eligible,
        orphaned=~eligible.any(axis=1) & ~(locked & owner_active),
        dist=drive * travel_weights(instance)[:, None],
        drive=drive,
        mode_ok=mode_ok,
    )
    return data


def _eligibility(instance: Instance, active: BoolArray) -> BoolArray:
    """[n, m] mask: active rep that serves the account's industry (one row per industry)."""
    codes: dict[str | None, int] = {}
    account_code = np.array([codes.setdefault(a.industry, len(codes)) for a in instance.accounts], dtype=np.int64)
    table = np.zeros((max(len(codes), 1), len(instance.reps)), dtype=bool)
    for industry, code in codes.items():
        table[code] = [r.active and r.serves(industry) for r in instance.reps]
    if account_code.size == 0:
        return np.zeros((0, len(instance.reps)), dtype=bool)
    return table[account_code] & active[None, :]
