"""Distances between accounts and rep homes, behind one seam.

Everything in the planner that needs a distance asks a :class:`DistanceModel`. Today that is
:class:`GreatCircleDistance` (haversine, km); a road-time matrix can replace it later without
touching the solver, the validator or the metrics.

Indices refer to positions in ``instance.accounts`` and ``instance.reps``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from territory.planner.instance import Instance

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def haversine_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> FloatArray:
    """Great-circle distance in km; all arguments broadcast like numpy arrays (degrees).

    Args:
        lat1: Latitudes of the first points.
        lon1: Longitudes of the first points.
        lat2: Latitudes of the second points.
        lon2: Longitudes of the second points.

    Returns:
        Distances in km with the broadcast shape of the inputs.
    """
    phi1 = np.radians(np.asarray(lat1, dtype=np.float64))
    phi2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dphi = phi2 - phi1
    dlambda = np.radians(np.asarray(lon2, dtype=np.float64) - np.asarray(lon1, dtype=np.float64))
    h = np.sin(dphi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlambda / 2.0) ** 2
    # clip guards against rounding pushing h a hair above 1 for antipodal points
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


@runtime_checkable
class DistanceModel(Protocol):
    """Role: how far an account is from a rep's home (km or any consistent travel unit)."""

    def km(self, account_idx: ArrayLike, rep_idx: ArrayLike) -> FloatArray:
        """Element-wise distances for pairs ``(account_idx[i], rep_idx[i])`` (broadcasting)."""
        ...

    def matrix(self, account_idx: ArrayLike | None = None, rep_idx: ArrayLike | None = None) -> FloatArray:
        """Dense block ``[len(account_idx), len(rep_idx)]``; ``None`` means all of them."""
        ...


class GreatCircleDistance:
    """Haversine distance from each account to each rep's home, in km.

    Build it with :meth:`from_instance`; it keeps only four coordinate arrays, so it is cheap
    even for 50,000 accounts. ``matrix()`` for all accounts x 100 reps is 40 MB of float64.
    """

    def __init__(
        self, account_lat: ArrayLike, account_lon: ArrayLike, rep_lat: ArrayLike, rep_lon: ArrayLike
    ) -> None:
        self.account_lat = np.asarray(account_lat, dtype=np.float64)
        self.account_lon = np.asarray(account_lon, dtype=np.float64)
        self.rep_lat = np.asarray(rep_lat, dtype=np.float64)
        self.rep_lon = np.asarray(rep_lon, dtype=np.float64)

    @classmethod
    def from_instance(cls, instance: Instance) -> GreatCircleDistance:
        """Distance model over the instance's account locations and rep homes."""
        return cls(
            [a.lat for a in instance.accounts],
            [a.lon for a in instance.accounts],
            [r.lat for r in instance.reps],
            [r.lon for r in instance.reps],
        )

    def km(self, account_idx: ArrayLike, rep_idx: ArrayLike) -> FloatArray:
        """Element-wise distances for account/rep index pairs (numpy broadcasting applies)."""
        a = np.asarray(account_idx, dtype=np.int64)
        r = np.asarray(rep_idx, dtype=np.int64)
        return haversine_km(self.account_lat[a], self.account_lon[a], self.rep_lat[r], self.rep_lon[r])

    def matrix(self, account_idx: ArrayLike | None = None, rep_idx: ArrayLike | None = None) -> FloatArray:
        """Dense distance block; rows are accounts, columns are reps."""
        a = (
            np.arange(self.account_lat.size)
            if account_idx is None
            else np.asarray(account_idx, dtype=np.int64)
        )
        r = np.arange(self.rep_lat.size) if rep_idx is None else np.asarray(rep_idx, dtype=np.int64)
        return self.km(a[:, None], r[None, :])


def build_distance_model(instance: Instance) -> DistanceModel:
    """The default distance model for an instance (great-circle today)."""
    return GreatCircleDistance.from_instance(instance)


def nearest_reps(
    model: DistanceModel, account_idx: ArrayLike, allowed: NDArray[np.bool_], k: int
) -> tuple[IntArray, FloatArray]:
    """The ``k`` nearest allowed reps per account, nearest first.

    Args:
        model: Distance model.
        account_idx: Accounts to look up (length n).
        allowed: Boolean ``[n, n_reps]`` mask of reps each account may go to.
        k: How many to return; fewer allowed reps are padded with index -1 and distance inf.

    Returns:
        ``(rep_idx [n, k], km [n, k])``.
    """
    dist = model.matrix(account_idx)
    dist = np.where(allowed, dist, np.inf)
    k_eff = min(k, dist.shape[1])
    if k_eff <= 0:
        n = dist.shape[0]
        return np.full((n, k), -1, dtype=np.int64), np.full((n, k), np.inf)
    part = (
        np.argpartition(dist, k_eff - 1, axis=1)[:, :k_eff]
        if k_eff < dist.shape[1]
        else np.tile(np.arange(dist.shape[1]), (dist.shape[0], 1))
    )
    part_dist = np.take_along_axis(dist, part, axis=1)
    order = np.argsort(part_dist, axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1).astype(np.int64)
    km = np.take_along_axis(part_dist, order, axis=1)
    idx = np.where(np.isfinite(km), idx, -1)
    if k_eff < k:
        pad = k - k_eff
        idx = np.pad(idx, ((0, 0), (0, pad)), constant_values=-1)
        km = np.pad(km, ((0, 0), (0, pad)), constant_values=np.inf)
    return idx, km
