"""Realistic planning instances for tests and benchmarks (deterministic per seed).

What makes them realistic (each on purpose, because each is a way real territories go wrong):

- accounts cluster around real German and neighbouring European cities, weighted by population;
  reps are spread more evenly than demand, so dense metros are under-staffed;
- potential is heavy-tailed (lognormal body, Pareto whales);
- workload is tiered: A/B/C accounts need 12/6/3 touches per quarter (3 is the coverage floor);
- ownership is "historically grown": a distorted nearest-rep map in which one long-serving rep
  holds about 3x the mean potential, one departed (inactive) rep still owns accounts, and one
  new hire owns nothing;
- about 14% of accounts are locked; a specialist industry (MedTech) is served by a few reps;
- capacities are feasible but not loose (10-25% above the workload target).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from territory.planner.distance import haversine_km
from territory.planner.instance import Instance, PlanAccount, PlanRep

# name, lat, lon, population in thousands (city proper, rounded)
_CITY_TABLE = """
Berlin,52.520,13.405,3850|Hamburg,53.551,9.994,1900|Muenchen,48.137,11.575,1510|Koeln,50.938,6.960,1080
Frankfurt am Main,50.110,8.682,770|Stuttgart,48.776,9.183,630|Duesseldorf,51.227,6.773,620
Leipzig,51.340,12.375,620|Dortmund,51.514,7.466,590|Essen,51.456,7.012,580|Bremen,53.079,8.801,570
Dresden,51.050,13.738,560|Hannover,52.376,9.732,540|Nuernberg,49.452,11.077,520|Duisburg,51.434,6.762,500
Bochum,51.482,7.216,365|Wuppertal,51.256,7.150,355|Bielefeld,52.030,8.532,335|Bonn,50.737,7.098,330
Muenster,51.960,7.626,320|Mannheim,49.487,8.466,315|Karlsruhe,49.007,8.404,306|Augsburg,48.370,10.898,300
Wiesbaden,50.082,8.240,280|Moenchengladbach,51.185,6.442,260|Gelsenkirchen,51.518,7.086,260
Aachen,50.776,6.084,250|Braunschweig,52.269,10.521,250|Kiel,54.323,10.123,247|Chemnitz,50.833,12.925,245
Halle,51.483,11.970,240|Magdeburg,52.121,11.628,237|Freiburg,47.999,7.842,232|Krefeld,51.339,6.586,227
Mainz,49.993,8.247,218|Luebeck,53.866,10.687,217|Erfurt,50.978,11.029,214|Oberhausen,51.470,6.852,209
Rostock,54.092,12.099,209|Kassel,51.312,9.480,201|Hagen,51.367,7.463,189|Potsdam,52.391,13.064,183
Saarbruecken,49.240,6.997,180|Hamm,51.681,7.820,180|Ludwigshafen,49.477,8.445,172|Oldenburg,53.143,8.214,170
Osnabrueck,52.279,8.047,165|Leverkusen,51.046,7.002,163|Darmstadt,49.873,8.651,160|Heidelberg,49.398,8.672,160
Regensburg,49.013,12.102,153|Paderborn,51.718,8.757,152|Ingolstadt,48.766,11.425,138|Wuerzburg,49.792,9.953,127
Ulm,48.401,9.988,127|Heilbronn,49.142,9.219,126|Pforzheim,48.892,8.695,126|Wolfsburg,52.423,10.787,124
Goettingen,51.541,9.916,118|Koblenz,50.356,7.594,114|Bremerhaven,53.540,8.581,113|Erlangen,49.590,11.004,113
Jena,50.928,11.590,110|Trier,49.750,6.637,110|Cottbus,51.756,14.333,98|Schwerin,53.636,11.401,96
Flensburg,54.794,9.437,90|Konstanz,47.660,9.175,85|Passau,48.575,13.461,53
Wien,48.208,16.373,1920|Graz,47.071,15.439,290|Linz,48.306,14.286,207|Salzburg,47.810,13.055,155
Zuerich,47.377,8.541,420|Basel,47.560,7.589,175|Bern,46.948,7.447,134|Genf,46.204,6.143,203
Amsterdam,52.370,4.895,880|Rotterdam,51.924,4.478,650|Bruessel,50.850,4.352,1210|Antwerpen,51.219,4.402,530
Luxemburg,49.612,6.130,130|Kopenhagen,55.676,12.568,650|Prag,50.075,14.438,1300|Warschau,52.230,21.012,1800
Breslau,51.108,17.039,640|Paris,48.857,2.352,2100|Lyon,45.764,4.836,520|Strassburg,48.573,7.752,290
Mailand,45.464,9.190,1370
"""

GENERAL_INDUSTRIES = ("Manufacturing", "Retail", "Logistics", "Software", "Finance")
SPECIALIST_INDUSTRY = "MedTech"
TIER_TOUCHES = {"A": 12.0, "B": 6.0, "C": 3.0}  # touches per quarter; 3 is the coverage floor
_TIER_SHARES = (0.15, 0.35)  # top 15% of potential are A, next 35% B, the rest C
_KM_PER_DEG_LAT = 111.2


def get_cities() -> list[tuple[str, float, float, float]]:
    """The embedded city table: (name, lat, lon, population in thousands)."""
    rows = []
    for item in _CITY_TABLE.replace("\n", "|").split("|"):
        if item.strip():
            name, lat, lon, pop = item.strip().split(",")
            rows.append((name, float(lat), float(lon), float(pop)))
    return rows


def generate_instance(
    n_accounts: int, n_reps: int, seed: int, *, locked_share: float = 0.14, specialist_demand: float = 0.6
) -> Instance:
    """Build a realistic instance; the same arguments always give the same instance.

    Args:
        n_accounts: Number of accounts (>= 10).
        n_reps: Number of reps including the departed rep and the new hire (>= 4).
        seed: Random seed.
        locked_share: Fraction of accounts that are locked.
        specialist_demand: MedTech accounts as a multiple of the specialists' fair share of
            accounts (0.6 by default; above about 1.02 a ±2% tolerance is out of reach,
            because only the specialists may serve MedTech).

    Returns:
        The instance. Rep roles: one inactive rep still owning accounts, one active rep with
        no accounts, one rep owning about 3x the mean potential, a few MedTech specialists.
    """
    if n_reps < 4 or n_accounts < 10:
        raise ValueError("generate_instance needs at least 10 accounts and 4 reps")
    rng = np.random.default_rng(seed)
    cities = get_cities()
    c_lat = np.array([c[1] for c in cities])
    c_lon = np.array([c[2] for c in cities])
    c_pop = np.array([c[3] for c in cities])

    a_city = rng.choice(len(cities), size=n_accounts, p=_normalise(c_pop**0.9))
    a_lat, a_lon = _scatter(rng, c_lat[a_city], c_lon[a_city], 6.0 + 2.5 * np.sqrt(c_pop[a_city] / 100.0))
    potential = _heavy_tailed_potential(rng, n_accounts, n_reps)
    workload = _tiered_workload(potential)
    n_specialists = max(1, round(0.08 * n_reps))
    medtech = rng.random(n_accounts) < specialist_demand * n_specialists / n_reps
    industry = np.where(
        medtech, SPECIALIST_INDUSTRY, np.array(GENERAL_INDUSTRIES)[rng.integers(0, 5, n_accounts)]
    )

    r_city = _staff_cities(c_pop, a_city, n_reps - 1)
    new_hire = n_reps - 1  # hired where demand per rep is highest
    r_city = np.append(r_city, _most_understaffed_city(a_city, r_city, len(cities)))
    # reps in one metro live spread over it, like their accounts (tighter, they live near work)
    r_lat, r_lon = _scatter(
        rng, c_lat[r_city], c_lon[r_city], 0.6 * (6.0 + 2.5 * np.sqrt(c_pop[r_city] / 100.0))
    )
    specialists = _pick_specialists(r_city, c_pop, n_specialists, exclude={new_hire})
    big = _pick_by_city_size(r_city, c_pop, rank=len(specialists), exclude=set(specialists) | {new_hire})

    serves_medtech = np.zeros(n_reps, dtype=bool)
    serves_medtech[specialists] = True
    eligible = np.where(medtech[:, None], serves_medtech[None, :], ~serves_medtech[None, :])
    eligible |= (industry == "Manufacturing")[:, None] & serves_medtech[None, :]
    dist = haversine_km(a_lat[:, None], a_lon[:, None], r_lat[None, :], r_lon[None, :])
    owner = _historical_owners(rng, dist, eligible, potential, big, new_hire)
    locked = rng.random(n_accounts) < locked_share
    departed = _pick_departed(rng, owner, n_reps, exclude={new_hire, big, *specialists})

    active = np.arange(n_reps) != departed
    pinned = locked & active[owner]  # locks of the departed rep do not bind
    capacity = _capacities(
        rng, workload, active, serves_medtech, medtech, industry == "Manufacturing", owner, pinned
    )
    reps = tuple(
        PlanRep(
            id=f"REP{i + 1:03d}",
            name=f"Rep {i + 1:03d} ({cities[r_city[i]][0]})",
            lat=round(float(r_lat[i]), 5),
            lon=round(float(r_lon[i]), 5),
            capacity=float(capacity[i]),
            active=i != departed,
            industries=(
                frozenset({SPECIALIST_INDUSTRY, "Manufacturing"})
                if serves_medtech[i]
                else frozenset(GENERAL_INDUSTRIES)
            ),
        )
        for i in range(n_reps)
    )
    accounts = tuple(
        PlanAccount(
            id=f"ACC{j + 1:06d}",
            name=f"{cities[a_city[j]][0]} {industry[j]} {j + 1}",
            owner_id=reps[owner[j]].id,
            lat=round(float(a_lat[j]), 5),
            lon=round(float(a_lon[j]), 5),
            potential=float(potential[j]),
            workload=float(workload[j]),
            locked=bool(locked[j]),
            industry=str(industry[j]),
        )
        for j in range(n_accounts)
    )
    return Instance(accounts=accounts, reps=reps)


def _normalise(weights: NDArray[np.float64]) -> NDArray[np.float64]:
    return weights / weights.sum()


def _scatter(
    rng: np.random.Generator,
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    sigma_km: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gaussian scatter around points, sigma in km (converted per latitude)."""
    dy = rng.normal(0.0, 1.0, lat.size) * sigma_km
    dx = rng.normal(0.0, 1.0, lat.size) * sigma_km
    new_lat = lat + dy / _KM_PER_DEG_LAT
    return new_lat, lon + dx / (_KM_PER_DEG_LAT * np.cos(np.radians(new_lat)))


def _heavy_tailed_potential(rng: np.random.Generator, n_accounts: int, n_reps: int) -> NDArray[np.float64]:
    body = rng.lognormal(mean=np.log(20_000.0), sigma=1.0, size=n_accounts)
    whales = rng.random(n_accounts) < 0.02
    body[whales] *= 1.0 + rng.pareto(1.5, whales.sum())
    # A single account bigger than a fraction of a territory would make balance impossible by
    # construction; real whales are named accounts handled outside the rebalance.
    per_rep = body.sum() / n_reps
    return np.round(np.minimum(body, 0.25 * per_rep), 0)


def _tiered_workload(potential: NDArray[np.float64]) -> NDArray[np.float64]:
    rank = np.argsort(np.argsort(-potential, kind="stable"), kind="stable") / potential.size
    a_share, b_share = _TIER_SHARES
    return np.where(
        rank < a_share,
        TIER_TOUCHES["A"],
        np.where(rank < a_share + b_share, TIER_TOUCHES["B"], TIER_TOUCHES["C"]),
    )


def _staff_cities(c_pop: NDArray[np.float64], a_city: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """Spread ``n`` reps over cities by demand**0.85 (largest remainder), so big metros are short."""
    demand = np.bincount(a_city, minlength=c_pop.size).astype(np.float64)
    quota = _normalise(demand**0.85) * n
    seats = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - seats), kind="stable")
    seats[order[: n - seats.sum()]] += 1
    return np.repeat(np.arange(c_pop.size), seats)


def _most_understaffed_city(a_city: NDArray[np.int64], r_city: NDArray[np.int64], n_cities: int) -> int:
    demand = np.bincount(a_city, minlength=n_cities)
    staff = np.bincount(r_city, minlength=n_cities)
    return int(np.argmax(demand / (staff + 1.0)))


def _pick_specialists(
    r_city: NDArray[np.int64], c_pop: NDArray[np.float64], k: int, exclude: set[int]
) -> list[int]:
    """One specialist in each of the ``k`` largest staffed cities."""
    picked: list[int] = []
    seen: set[int] = set()
    for i in sorted(range(r_city.size), key=lambda i: (-c_pop[r_city[i]], i)):
        if i not in exclude and r_city[i] not in seen:
            picked.append(i)
            seen.add(int(r_city[i]))
        if len(picked) == k:
            break
    return picked


def _pick_by_city_size(
    r_city: NDArray[np.int64], c_pop: NDArray[np.float64], rank: int, exclude: set[int]
) -> int:
    ordered = [
        i for i in sorted(range(r_city.size), key=lambda i: (-c_pop[r_city[i]], i)) if i not in exclude
    ]
    return ordered[min(rank, len(ordered) - 1)]


def _historical_owners(
    rng: np.random.Generator,
    dist: NDArray[np.float64],
    eligible: NDArray[np.bool_],
    potential: NDArray[np.float64],
    big: int,
    new_hire: int,
) -> NDArray[np.int64]:
    """A distorted nearest-rep map; the big rep's pull is tuned until it owns ~3x the mean."""
    n_reps = dist.shape[1]
    pull = np.asarray(rng.lognormal(0.0, 0.1, size=n_reps), dtype=np.float64)
    base = np.where(eligible, dist + 5.0, np.inf)
    base[:, new_hire] = np.inf
    goal = 3.0 * potential.sum() / (n_reps - 1)
    low, high = 0.0, np.log(50.0)
    owner = np.argmin(base / pull, axis=1)
    for _ in range(30):
        mid = (low + high) / 2.0
        pull[big] = np.exp(mid)
        owner = np.argmin(base / pull, axis=1)
        if potential[owner == big].sum() < goal:
            low = mid
        else:
            high = mid
    pull[big] = np.exp(high)
    return np.argmin(base / pull, axis=1).astype(np.int64)


def _pick_departed(rng: np.random.Generator, owner: NDArray[np.int64], n_reps: int, exclude: set[int]) -> int:
    """A random rep that still owns accounts (the point of a departure is the orphaned book)."""
    owns = np.bincount(owner, minlength=n_reps) > 0
    pool = [i for i in range(n_reps) if i not in exclude and owns[i]] or [
        i for i in range(n_reps) if i not in exclude
    ]
    return int(rng.choice(pool))


def _capacities(
    rng: np.random.Generator,
    workload: NDArray[np.float64],
    active: NDArray[np.bool_],
    specialist: NDArray[np.bool_],
    medtech: NDArray[np.bool_],
    shared: NDArray[np.bool_],
    owner: NDArray[np.int64],
    pinned: NDArray[np.bool_],
) -> NDArray[np.float64]:
    """Workload target x (1.10..1.25), then raised where the hard rules would not fit.

    Feasible means, each with 10% headroom: every rep holds its own locked work; MedTech work
    plus shared-industry work locked to specialists fits the active specialists; the work only
    general reps may take plus shared work locked to them fits the active general reps. Tiny
    instances also get room for two A accounts above target.
    """
    target = workload.sum() / active.sum()
    slack = rng.uniform(0.10, 0.25, active.size)
    capacity = np.maximum(target * (1.0 + slack), target + 2 * TIER_TOUCHES["A"])
    locked_load = np.bincount(owner[pinned], weights=workload[pinned], minlength=active.size)
    capacity = np.maximum(capacity, 1.1 * locked_load)
    pinned_to_specialist = pinned & specialist[owner]
    pinned_to_general = pinned & ~specialist[owner]
    groups = (
        (specialist, workload[medtech | (shared & pinned_to_specialist)].sum()),
        (~specialist, workload[(~medtech & ~shared) | (shared & pinned_to_general)].sum()),
    )
    for group, demand in groups:
        members = group & active
        room = capacity[members].sum()
        if members.any() and room < 1.1 * demand:
            capacity[group] *= 1.1 * demand / room
    return np.round(capacity, 0)
