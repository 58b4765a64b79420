"""Real cities the emulator places its invented companies in.

Coordinates are city centres (WGS84 degrees, good to a few hundredths of a degree), the postal
code is a typical one for the centre, and ``population_k`` (inhabitants, thousands, rounded) is
the weight for how many companies a city gets. German cities dominate, as they would in a
DACH-focused B2B book; a few dozen international cities bring foreign postal formats.

:func:`vary_postal_code` derives a plausible neighbour of a city's code: it keeps the leading
characters that carry the region (the German "Leitregion" and its next digit, a UK outward
code, ...) and randomises the rest in the country's own format.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    """One city: where its companies sit and how many there are."""

    name: str
    country: str  # ISO 3166-1 alpha-2
    postal_code: str
    lat: float
    lon: float
    population_k: int


# name, postal code, lat, lon, population (thousands)
_GERMANY: tuple[tuple[str, str, float, float, int], ...] = (
    ("Berlin", "10115", 52.5200, 13.4050, 3755),
    ("Hamburg", "20095", 53.5511, 9.9937, 1892),
    ("München", "80331", 48.1374, 11.5755, 1512),
    ("Köln", "50667", 50.9375, 6.9603, 1084),
    ("Frankfurt am Main", "60311", 50.1109, 8.6821, 773),
    ("Stuttgart", "70173", 48.7758, 9.1829, 633),
    ("Düsseldorf", "40213", 51.2277, 6.7735, 629),
    ("Leipzig", "04109", 51.3397, 12.3731, 616),
    ("Dortmund", "44135", 51.5136, 7.4653, 595),
    ("Essen", "45127", 51.4556, 7.0116, 584),
    ("Bremen", "28195", 53.0793, 8.8017, 577),
    ("Dresden", "01067", 51.0504, 13.7373, 566),
    ("Hannover", "30159", 52.3759, 9.7320, 546),
    ("Nürnberg", "90402", 49.4521, 11.0767, 526),
    ("Duisburg", "47051", 51.4344, 6.7623, 502),
    ("Bochum", "44787", 51.4818, 7.2162, 366),
    ("Wuppertal", "42103", 51.2562, 7.1508, 358),
    ("Bielefeld", "33602", 52.0302, 8.5325, 338),
    ("Bonn", "53111", 50.7374, 7.0982, 336),
    ("Münster", "48143", 51.9607, 7.6261, 320),
    ("Mannheim", "68159", 49.4875, 8.4660, 315),
    ("Karlsruhe", "76133", 49.0069, 8.4037, 308),
    ("Augsburg", "86150", 48.3705, 10.8978, 301),
    ("Wiesbaden", "65183", 50.0782, 8.2398, 283),
    ("Mönchengladbach", "41061", 51.1805, 6.4428, 268),
    ("Gelsenkirchen", "45879", 51.5177, 7.0857, 263),
    ("Aachen", "52062", 50.7753, 6.0839, 252),
    ("Braunschweig", "38100", 52.2689, 10.5268, 251),
    ("Kiel", "24103", 54.3233, 10.1228, 248),
    ("Chemnitz", "09111", 50.8278, 12.9214, 246),
    ("Halle (Saale)", "06108", 51.4825, 11.9706, 242),
    ("Magdeburg", "39104", 52.1205, 11.6276, 240),
    ("Freiburg im Breisgau", "79098", 47.9990, 7.8421, 237),
    ("Krefeld", "47798", 51.3388, 6.5853, 228),
    ("Mainz", "55116", 49.9929, 8.2473, 220),
    ("Lübeck", "23552", 53.8655, 10.6866, 218),
    ("Erfurt", "99084", 50.9848, 11.0299, 215),
    ("Oberhausen", "46045", 51.4963, 6.8638, 210),
    ("Rostock", "18055", 54.0924, 12.0991, 210),
    ("Kassel", "34117", 51.3127, 9.4797, 203),
    ("Hagen", "58095", 51.3671, 7.4633, 190),
    ("Potsdam", "14467", 52.3906, 13.0645, 185),
    ("Saarbrücken", "66111", 49.2402, 6.9969, 181),
    ("Hamm", "59065", 51.6739, 7.8150, 180),
    ("Ludwigshafen am Rhein", "67059", 49.4774, 8.4452, 174),
    ("Oldenburg", "26122", 53.1435, 8.2146, 172),
    ("Osnabrück", "49074", 52.2799, 8.0472, 166),
    ("Leverkusen", "51373", 51.0459, 6.9853, 165),
    ("Heidelberg", "69117", 49.3988, 8.6724, 162),
    ("Darmstadt", "64283", 49.8728, 8.6512, 162),
    ("Solingen", "42651", 51.1652, 7.0671, 160),
    ("Regensburg", "93047", 49.0134, 12.1016, 155),
    ("Paderborn", "33098", 51.7189, 8.7575, 153),
    ("Ingolstadt", "85049", 48.7665, 11.4258, 140),
    ("Offenbach am Main", "63065", 50.0956, 8.7761, 131),
    ("Fürth", "90762", 49.4771, 10.9887, 130),
    ("Würzburg", "97070", 49.7913, 9.9534, 128),
    ("Ulm", "89073", 48.4011, 9.9876, 127),
    ("Heilbronn", "74072", 49.1427, 9.2109, 127),
    ("Pforzheim", "75175", 48.8922, 8.6946, 126),
    ("Wolfsburg", "38440", 52.4227, 10.7865, 125),
    ("Göttingen", "37073", 51.5413, 9.9158, 118),
    ("Reutlingen", "72764", 48.4914, 9.2043, 116),
    ("Koblenz", "56068", 50.3569, 7.5890, 114),
    ("Erlangen", "91052", 49.5897, 11.0078, 113),
    ("Bremerhaven", "27568", 53.5396, 8.5809, 113),
    ("Jena", "07743", 50.9271, 11.5892, 110),
    ("Trier", "54290", 49.7499, 6.6371, 111),
    ("Siegen", "57072", 50.8748, 8.0243, 102),
    ("Cottbus", "03046", 51.7563, 14.3329, 99),
    ("Schwerin", "19053", 53.6355, 11.4012, 96),
    ("Flensburg", "24937", 54.7937, 9.4470, 92),
    ("Konstanz", "78462", 47.6603, 9.1758, 86),
    ("Bamberg", "96047", 49.8988, 10.9028, 78),
    ("Wetzlar", "35578", 50.5558, 8.5049, 53),
    ("Tuttlingen", "78532", 47.9848, 8.8177, 36),  # the German MedTech cluster
)

# name, country, postal code, lat, lon, population (thousands)
_INTERNATIONAL: tuple[tuple[str, str, str, float, float, int], ...] = (
    ("Wien", "AT", "1010", 48.2082, 16.3738, 1982),
    ("Graz", "AT", "8010", 47.0707, 15.4395, 292),
    ("Linz", "AT", "4020", 48.3069, 14.2858, 207),
    ("Salzburg", "AT", "5020", 47.8095, 13.0550, 155),
    ("Zürich", "CH", "8001", 47.3769, 8.5417, 421),
    ("Basel", "CH", "4051", 47.5596, 7.5886, 173),
    ("Bern", "CH", "3011", 46.9480, 7.4474, 134),
    ("Genève", "CH", "1201", 46.2044, 6.1432, 203),
    ("Amsterdam", "NL", "1012 JS", 52.3676, 4.9041, 918),
    ("Rotterdam", "NL", "3011 AD", 51.9244, 4.4777, 655),
    ("Eindhoven", "NL", "5611 EM", 51.4416, 5.4697, 238),
    ("Bruxelles", "BE", "1000", 50.8503, 4.3517, 1222),
    ("Antwerpen", "BE", "2000", 51.2194, 4.4025, 530),
    ("Paris", "FR", "75001", 48.8566, 2.3522, 2102),
    ("Lyon", "FR", "69001", 45.7640, 4.8357, 522),
    ("Strasbourg", "FR", "67000", 48.5734, 7.7521, 291),
    ("London", "GB", "EC1A 1BB", 51.5074, -0.1278, 8866),
    ("Manchester", "GB", "M1 1AE", 53.4808, -2.2426, 568),
    ("Warszawa", "PL", "00-001", 52.2297, 21.0122, 1863),
    ("Wrocław", "PL", "50-001", 51.1079, 17.0385, 674),
    ("Praha", "CZ", "110 00", 50.0755, 14.4378, 1357),
    ("København", "DK", "1050", 55.6761, 12.5683, 653),
    ("Stockholm", "SE", "111 20", 59.3293, 18.0686, 984),
    ("Milano", "IT", "20121", 45.4642, 9.1900, 1371),
    ("Madrid", "ES", "28001", 40.4168, -3.7038, 3332),
    ("Barcelona", "ES", "08001", 41.3874, 2.1686, 1636),
    ("New York", "US", "10001", 40.7128, -74.0060, 8336),
    ("Chicago", "US", "60601", 41.8781, -87.6298, 2697),
)

GERMAN_CITIES: tuple[City, ...] = tuple(City(n, "DE", p, la, lo, k) for n, p, la, lo, k in _GERMANY)
INTERNATIONAL_CITIES: tuple[City, ...] = tuple(City(*row) for row in _INTERNATIONAL)
CITIES: tuple[City, ...] = GERMAN_CITIES + INTERNATIONAL_CITIES

# How many leading characters of a postal code stay fixed when deriving a neighbour code:
# they carry the region, so ownership by postal region stays geographic.
_FIXED_PREFIX = {
    "DE": 3, "AT": 2, "CH": 2, "NL": 2, "BE": 2, "FR": 3, "PL": 3, "CZ": 3, "DK": 2,
    "SE": 3, "IT": 3, "ES": 3, "US": 3,
}
# Letters Royal Mail never uses in the inward code; Dutch codes skip a few as well.
_GB_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_NL_LETTERS = "".join(c for c in string.ascii_uppercase if c not in "FIOQUY")


def city_by_name(name: str) -> City:
    """The city called ``name`` (exact spelling as in the table).

    Raises:
        KeyError: no such city in the table.
    """
    for city in CITIES:
        if city.name == name:
            return city
    raise KeyError(f"no city {name!r} in emulator.cities")


def vary_postal_code(city: City, rng: random.Random) -> str:
    """A plausible postal code near ``city``'s own, in that country's format.

    The leading region characters are kept; remaining digits and letters are drawn from
    ``rng`` (separators such as spaces and hyphens stay where they are).
    """
    code = city.postal_code
    if city.country == "GB":
        outward = code.split(" ")[0]
        return f"{outward} {rng.randint(1, 9)}{rng.choice(_GB_INWARD_LETTERS)}{rng.choice(_GB_INWARD_LETTERS)}"
    fixed = _FIXED_PREFIX.get(city.country, len(code))
    out = list(code[:fixed])
    for char in code[fixed:]:
        if char.isdigit():
            out.append(str(rng.randint(0, 9)))
        elif char.isalpha():
            out.append(rng.choice(_NL_LETTERS))
        else:
            out.append(char)
    drawn = [i for i in range(fixed, len(out)) if out[i].isdigit()]
    if drawn and all(out[i] == "0" for i in drawn) and code[fixed:].strip("0 -"):
        out[drawn[-1]] = str(rng.randint(1, 9))  # round codes like 01000 are mostly not delivery areas
    return "".join(out)
