"""Realistic planner instances for the solving-core tests (and quick local measurements).

Clustered accounts around German cities, heavy-tailed potential, tiered workload, skewed
"historically grown" ownership with one rep holding about 3x the mean, a departed rep, a new
hire without accounts, ~14% locked accounts, and a specialist industry served by a few reps.
"""

from __future__ import annotations

import numpy as np

from territory.planner.instance import Instance, PlanAccount, PlanRep

CITIES = (  # name, lat, lon, weight
    ("Berlin", 52.52, 13.40, 3.6),
    ("Hamburg", 53.55, 9.99, 1.8),
    ("Munich", 48.14, 11.58, 1.5),
    ("Cologne", 50.94, 6.96, 1.1),
    ("Frankfurt", 50.11, 8.68, 0.8),
    ("Stuttgart", 48.78, 9.18, 0.6),
    ("Duesseldorf", 51.23, 6.77, 0.6),
    ("Leipzig", 51.34, 12.37, 0.6),
    ("Dortmund", 51.51, 7.47, 0.6),
    ("Bremen", 53.08, 8.80, 0.6),
    ("Dresden", 51.05, 13.74, 0.55),
    ("Hanover", 52.37, 9.73, 0.55),
    ("Nuremberg", 49.45, 11.08, 0.5),
)
INDUSTRIES = ("Manufacturing", "Retail", "Logistics", "Software")
SPECIALIST_INDUSTRY = "MedTech"


def make_instance(n_accounts: int, n_reps: int, seed: int = 0) -> Instance:
    """A realistic instance (see module docstring); deterministic for a seed."""
    rng = np.random.default_rng(seed)
    weights = np.array([c[3] for c in CITIES])
    city_lat = np.array([c[1] for c in CITIES])
    city_lon = np.array([c[2] for c in CITIES])
    rep_city = np.concatenate([np.arange(len(CITIES)), rng.choice(len(CITIES), n_reps, p=weights / weights.sum())])[:n_reps]
    rep_lat = city_lat[rep_city] + rng.normal(0, 0.15, n_reps)
    rep_lon = city_lon[rep_city] + rng.normal(0, 0.2, n_reps)
    acc_city = rng.choice(len(CITIES), n_accounts, p=weights / weights.sum())
    lat = city_lat[acc_city] + rng.normal(0, 0.3, n_accounts)
    lon = city_lon[acc_city] + rng.normal(0, 0.45, n_accounts)
    potential = np.round(rng.lognormal(10.0, 1.0, n_accounts), 2)
    tier = np.searchsorted(np.quantile(potential, [0.6, 0.9]), potential)
    workload = np.array([3.0, 6.0, 12.0])[tier]
    medtech = rng.random(n_accounts) < 0.07
    industry = np.where(medtech, SPECIALIST_INDUSTRY, np.array(INDUSTRIES)[rng.integers(0, len(INDUSTRIES), n_accounts)])
    n_specialists = max(2, n_reps // 8)
    specialist = np.zeros(n_reps, dtype=bool)
    specialist[rng.choice(np.arange(1, n_reps - 1), n_specialists, replace=False)] = True
    owner = _grown_ownership(rng, lat, lon, rep_lat, rep_lon, medtech, specialist)
    departed, new_hire = n_reps - 2, n_reps - 1
    owner[owner == new_hire] = departed  # the new hire starts empty
    total_w = workload.sum()
    capacity = np.full(n_reps, 1.6 * total_w / (n_reps - 1))
    locked = rng.random(n_accounts) < 0.14
    reps = tuple(
        PlanRep(
            id=f"REP{i:03d}",
            name=f"Rep {i}",
            lat=float(rep_lat[i]),
            lon=float(rep_lon[i]),
            capacity=float(np.round(capacity[i])),
            active=i != departed,
            industries=frozenset({*INDUSTRIES, SPECIALIST_INDUSTRY}) if specialist[i] else frozenset(INDUSTRIES),
        )
        for i in range(n_reps)
    )
    accounts = tuple(
        PlanAccount(
            id=f"ACC{j:06d}",
            name=f"Account {j}",
            owner_id=reps[owner[j]].id,
            lat=float(lat[j]),
            lon=float(lon[j]),
            potential=float(potential[j]),
            workload=float(workload[j]),
            locked=bool(locked[j]),
            industry=str(industry[j]),
        )
        for j in range(n_accounts)
    )
    return Instance(accounts=accounts, reps=reps)


def _grown_ownership(
    rng: np.random.Generator,
    lat: np.ndarray,
    lon: np.ndarray,
    rep_lat: np.ndarray,
    rep_lon: np.ndarray,
    medtech: np.ndarray,
    specialist: np.ndarray,
) -> np.ndarray:
    """Owner among the nearest eligible reps, skewed so rep 0 holds about 3x the mean."""
    dist = np.hypot(lat[:, None] - rep_lat[None, :], (lon[:, None] - rep_lon[None, :]) * 0.64)
    dist = np.where(medtech[:, None] & ~specialist[None, :], np.inf, dist)
    pull = np.ones(rep_lat.size)
    pull[0] = 1.4
    score = pull[None, :] / (dist + 0.05) ** 2 * rng.random(dist.shape) ** 0.5
    owner = np.argmax(score, axis=1)
    # rep 0 also "inherited" a slice of accounts from everywhere
    extra = (rng.random(lat.size) < 0.7 / rep_lat.size) & (~medtech | specialist[0])
    owner[extra] = 0
    return owner


def test_instance_is_deterministic_when_seed_fixed() -> None:
    assert make_instance(200, 8, seed=3) == make_instance(200, 8, seed=3)


def test_instance_has_departed_rep_and_empty_new_hire_when_generated() -> None:
    instance = make_instance(500, 10, seed=1)
    owners = {a.owner_id for a in instance.accounts}
    assert not instance.reps[-2].active and instance.reps[-2].id in owners
    assert instance.reps[-1].id not in owners
