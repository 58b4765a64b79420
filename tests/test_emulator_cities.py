"""The emulator's city table: real places, plausible postal codes in each country's format."""

from __future__ import annotations

import math
import random
import re

import pytest

from territory.emulator.cities import (
    CITIES,
    GERMAN_CITIES,
    INTERNATIONAL_CITIES,
    city_by_name,
    vary_postal_code,
)

POSTAL_FORMATS = {
    "DE": r"\d{5}", "AT": r"\d{4}", "CH": r"\d{4}", "BE": r"\d{4}", "DK": r"\d{4}",
    "NL": r"\d{4} [A-Z]{2}", "FR": r"\d{5}", "IT": r"\d{5}", "ES": r"\d{5}", "US": r"\d{5}",
    "PL": r"\d{2}-\d{3}", "CZ": r"\d{3} \d{2}", "SE": r"\d{3} \d{2}",
    "GB": r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}",
}
# Rough bounding boxes (lat_min, lat_max, lon_min, lon_max) per country.
BOXES = {
    "DE": (47.2, 55.1, 5.8, 15.1), "AT": (46.3, 49.1, 9.5, 17.2), "CH": (45.8, 47.9, 5.9, 10.5),
    "NL": (50.7, 53.6, 3.3, 7.3), "BE": (49.5, 51.6, 2.5, 6.4), "FR": (42.3, 51.1, -4.8, 8.3),
    "GB": (49.9, 58.7, -8.2, 1.8), "PL": (49.0, 54.9, 14.1, 24.2), "CZ": (48.5, 51.1, 12.0, 18.9),
    "DK": (54.5, 57.8, 8.0, 15.2), "SE": (55.3, 69.1, 11.0, 24.2), "IT": (36.6, 47.1, 6.6, 18.6),
    "ES": (36.0, 43.8, -9.3, 3.4), "US": (24.5, 49.4, -125.0, -66.9),
}


def _km(a: str, b: str) -> float:
    p, q = city_by_name(a), city_by_name(b)
    lat1, lat2 = math.radians(p.lat), math.radians(q.lat)
    dlat, dlon = lat2 - lat1, math.radians(q.lon - p.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def test_table_has_the_required_cities_when_loaded() -> None:
    names = {c.name for c in CITIES}
    for required in ("Hamburg", "Berlin", "München", "Köln", "Frankfurt am Main", "Wolfsburg",
                     "Würzburg", "Ulm", "Wien", "Zürich", "Genève", "Amsterdam", "Paris", "London",
                     "Warszawa", "Praha", "København", "Stockholm", "Milano", "Madrid", "New York"):
        assert required in names
    assert len(GERMAN_CITIES) >= 55 and len(INTERNATIONAL_CITIES) >= 25
    assert len(names) == len(CITIES), "city names are unique"


@pytest.mark.parametrize("city", CITIES, ids=lambda c: c.name)
def test_city_lies_in_its_country_and_has_its_postal_format_when_listed(city) -> None:  # type: ignore[no-untyped-def]
    lat_min, lat_max, lon_min, lon_max = BOXES[city.country]
    assert lat_min <= city.lat <= lat_max and lon_min <= city.lon <= lon_max
    assert re.fullmatch(POSTAL_FORMATS[city.country], city.postal_code)
    assert city.population_k > 0


@pytest.mark.parametrize(
    ("a", "b", "km"),
    [("Hamburg", "München", 612), ("Berlin", "Hamburg", 255), ("Köln", "Frankfurt am Main", 152),
     ("Berlin", "München", 504), ("Stuttgart", "München", 191), ("Dresden", "Leipzig", 100),
     ("Wien", "Zürich", 593), ("Paris", "London", 344), ("New York", "Chicago", 1145)],
)
def test_known_distances_match_within_two_percent_when_computed_from_table(a: str, b: str, km: float) -> None:
    assert _km(a, b) == pytest.approx(km, rel=0.02)


def test_varied_postal_code_keeps_region_and_format_when_drawn() -> None:
    rng = random.Random(3)
    for city in CITIES:
        for _ in range(20):
            code = vary_postal_code(city, rng)
            assert re.fullmatch(POSTAL_FORMATS[city.country], code), (city.name, code)
            if city.country == "GB":
                assert code.split(" ")[0] == city.postal_code.split(" ")[0]
            else:
                assert code[:2] == city.postal_code[:2]
    german = city_by_name("Hamburg")
    assert all(vary_postal_code(german, rng).startswith("200") for _ in range(50))


def test_unknown_city_raises_key_error_when_looked_up() -> None:
    with pytest.raises(KeyError, match="Atlantis"):
        city_by_name("Atlantis")
