"""Word lists the seeder builds invented people and companies from (private to the emulator).

Everything here is plain data plus two tiny helpers; :mod:`emulator.seed` decides the mix.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Salesforce's standard Industry picklist values plus two custom ones (MedTech, Automotive)
# that real German orgs add; weights give a DACH industrial mix.
INDUSTRY_WEIGHTS: dict[str, int] = {
    "Manufacturing": 16, "Machinery": 10, "Automotive": 8, "MedTech": 6, "Technology": 10,
    "Healthcare": 4, "Retail": 6, "Finance": 3, "Transportation": 7, "Energy": 4,
    "Chemicals": 4, "Construction": 6, "Consulting": 6, "Electronics": 5,
    "Food & Beverage": 3, "Engineering": 4, "Telecommunications": 1, "Biotechnology": 1,
    "Insurance": 1, "Media": 1, "Shipping": 1, "Other": 2,
}

# Industry -> (German name parts, English name parts)
INDUSTRY_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Manufacturing": (("Fertigung", "Metallbau", "Kunststofftechnik", "Präzisionsteile", "Verpackung",
                       "Feinwerktechnik", "Stanztechnik"), ("Manufacturing", "Components", "Industries")),
    "Machinery": (("Maschinenbau", "Anlagenbau", "Antriebstechnik", "Fördertechnik", "Werkzeugbau"),
                  ("Machinery", "Engineering Works")),
    "Automotive": (("Automotive", "Fahrzeugtechnik", "Zulieferteile", "Karosseriebau", "Motorentechnik"),
                   ("Automotive", "Motors")),
    "MedTech": (("Medizintechnik", "Medical", "Dentaltechnik", "Orthopädietechnik", "Labortechnik",
                 "Chirurgietechnik"), ("Medical Devices", "MedTech", "Diagnostics")),
    "Technology": (("Software", "IT-Systeme", "Datentechnik", "Digital", "Informatik", "Cloud Services"),
                   ("Software", "Systems", "Digital", "Analytics")),
    "Healthcare": (("Gesundheit", "Pflegedienste", "Klinikservice"), ("Health", "Care")),
    "Retail": (("Handel", "Handelshaus", "Warenhandel"), ("Retail", "Stores")),
    "Finance": (("Finanz", "Capital", "Leasing"), ("Capital", "Finance")),
    "Transportation": (("Logistik", "Spedition", "Transporte"), ("Logistics", "Freight")),
    "Energy": (("Energie", "Solartechnik", "Windkraft"), ("Energy", "Power")),
    "Chemicals": (("Chemie", "Lacke", "Klebstoffe"), ("Chemicals", "Coatings")),
    "Construction": (("Bau", "Hochbau", "Tiefbau", "Bauunternehmung"), ("Construction", "Builders")),
    "Consulting": (("Beratung", "Consulting", "Partner"), ("Consulting", "Advisors")),
    "Electronics": (("Elektronik", "Elektrotechnik", "Sensorik", "Optik"), ("Electronics", "Sensors")),
    "Food & Beverage": (("Lebensmittel", "Feinkost", "Brauerei", "Getränke"), ("Foods", "Beverages")),
    "Engineering": (("Ingenieurbüro", "Engineering", "Planung"), ("Engineering", "Design")),
    "Telecommunications": (("Telekom", "Netzwerke"), ("Telecom", "Networks")),
    "Biotechnology": (("Biotech", "Biosciences"), ("Biosciences", "Bio")),
    "Insurance": (("Versicherung", "Assekuranz"), ("Insurance", "Assurance")),
    "Media": (("Medien", "Verlag", "Druck"), ("Media", "Publishing")),
    "Shipping": (("Reederei", "Schifffahrt"), ("Shipping", "Maritime")),
    "Other": (("Service", "Dienstleistungen"), ("Services", "Group")),
}

FAMILY_NAMES_DE = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
    "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz",
    "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner",
    "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler", "Herrmann", "Walter",
    "König", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß",
    "Jung", "Hahn", "Vogel", "Friedrich", "Keller", "Günther", "Frank", "Berger", "Winkler",
    "Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht", "Ludwig", "Böhm", "Seidel",
)
FIRST_NAMES_DE = (
    "Anna", "Julia", "Laura", "Lea", "Sarah", "Katharina", "Lisa", "Sophie", "Miriam", "Nina",
    "Sabine", "Claudia", "Petra", "Jana", "Franziska", "Carolin", "Stefanie", "Jessica", "Ayşe",
    "Lukas", "Jonas", "Leon", "Felix", "Maximilian", "Paul", "Tobias", "Florian", "Michael",
    "Thomas", "Andreas", "Stefan", "Christian", "Daniel", "Markus", "Sebastian", "Jan", "Tim",
    "Matthias", "Alexander", "Philipp", "Niklas", "Moritz", "Emre", "Dominik", "Kevin", "Jörg",
)
FAMILY_NAMES_INTL: dict[str, tuple[str, ...]] = {
    "AT": ("Gruber", "Huber", "Bauer", "Pichler", "Steiner", "Moser"),
    "CH": ("Meier", "Keller", "Brunner", "Favre", "Rochat", "Baumgartner"),
    "NL": ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "van Dijk"),
    "BE": ("Peeters", "Janssens", "Maes", "Dupont", "Claes", "Lambert"),
    "FR": ("Martin", "Bernard", "Dubois", "Laurent", "Lefèvre", "Moreau"),
    "GB": ("Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans"),
    "PL": ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski"),
    "CZ": ("Novák", "Svoboda", "Dvořák", "Černý", "Procházka", "Kučera"),
    "DK": ("Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen"),
    "SE": ("Andersson", "Johansson", "Lindqvist", "Karlsson", "Nilsson", "Eriksson"),
    "IT": ("Rossi", "Russo", "Ferrari", "Bianchi", "Romano", "Colombo"),
    "ES": ("García", "Martínez", "López", "Fernández", "Sánchez", "Romero"),
    "US": ("Miller", "Johnson", "Davis", "Anderson", "Clark", "Walker"),
}
FIRST_NAMES_INTL = ("Emma", "Olivia", "Sofia", "Marta", "Chloé", "James", "Lucas", "Matteo",
                    "Pieter", "Lars", "Tomasz", "Jakub", "Oliver", "Elena")

# Invented, real-sounding stems: "Nordlicht Logistik AG", "Axentis GmbH".
PLACE_STEMS = (
    "Nordlicht", "Alpen", "Rhein", "Elb", "Spree", "Main", "Donau", "Isar", "Weser", "Hanse",
    "Nordwind", "Sonnen", "Kristall", "Eichen", "Linden", "Falken", "Adler", "Löwen", "Stern",
    "Bergland", "Küsten", "Hafen", "Quell", "Ostsee", "Nordsee", "Harz", "Schwarzwald", "Taunus",
    "Eifel", "Allgäu", "Bodensee", "Mosel", "Neckar", "Ruhr", "Saale", "Havel", "Lausitz",
)
INVENTED_HEADS = ("Ax", "Sol", "Med", "Tri", "Kor", "Lum", "Prax", "Quant", "Hel", "Sens",
                  "Nov", "Ver", "Cal", "Dyn", "Omni", "Vit", "Zen", "Aqu", "Inter", "Ter")
INVENTED_TAILS = ("entis", "varo", "ivant", "valo", "vex", "etra", "ion", "iq", "vion", "ora",
                  "atek", "ano", "ix", "amic", "ara", "oris", "ovo", "elia", "ensa", "ax")

LEGAL_FORMS: dict[str, tuple[tuple[str, int], ...]] = {
    "DE": (("GmbH", 55), ("GmbH & Co. KG", 15), ("AG", 6), ("KG", 5), ("e.K.", 3), ("SE", 1),
           ("UG (haftungsbeschränkt)", 3), ("OHG", 2), ("", 10)),
    "AT": (("GmbH", 70), ("AG", 15), ("KG", 10), ("", 5)),
    "CH": (("AG", 60), ("GmbH", 30), ("SA", 10)),
    "NL": (("B.V.", 85), ("N.V.", 15)),
    "BE": (("NV", 40), ("BV", 40), ("SA", 20)),
    "FR": (("SAS", 60), ("SA", 25), ("SARL", 15)),
    "GB": (("Ltd", 85), ("PLC", 15)),
    "PL": (("Sp. z o.o.", 85), ("S.A.", 15)),
    "CZ": (("s.r.o.", 85), ("a.s.", 15)),
    "DK": (("A/S", 60), ("ApS", 40)),
    "SE": (("AB", 100),),
    "IT": (("S.r.l.", 70), ("S.p.A.", 30)),
    "ES": (("S.L.", 70), ("S.A.", 30)),
    "US": (("Inc.", 60), ("LLC", 30), ("Corp.", 10)),
}
TLD = {"DE": "de", "AT": "at", "CH": "ch", "NL": "nl", "BE": "be", "FR": "fr", "GB": "co.uk",
       "PL": "pl", "CZ": "cz", "DK": "dk", "SE": "se", "IT": "it", "ES": "es", "US": "com"}

SUBSIDIARY_WORDS = ("Service", "Vertrieb", "Deutschland", "Components", "Solutions", "Systems")
OPPORTUNITY_TOPICS = (
    "Rahmenvertrag", "Pilotprojekt", "Wartungsvertrag", "Erweiterung", "Neukunde", "Service-Paket",
    "Upgrade", "Rollout Phase 2", "Ersatzteile", "Lizenzen", "Retrofit", "Jahresbedarf",
)
# Salesforce's default open stages with the default probabilities' rough frequency.
OPEN_STAGES: tuple[tuple[str, int], ...] = (
    ("Prospecting", 22), ("Qualification", 20), ("Needs Analysis", 15), ("Value Proposition", 12),
    ("Id. Decision Makers", 8), ("Perception Analysis", 6), ("Proposal/Price Quote", 10),
    ("Negotiation/Review", 7),
)
TEAMS_BY_ZONE = {"0": "DACH Ost", "1": "DACH Ost", "2": "DACH Nord", "3": "DACH Mitte",
                 "4": "DACH West", "5": "DACH West", "6": "DACH Südwest", "7": "DACH Südwest",
                 "8": "DACH Süd", "9": "DACH Süd"}
INTERNATIONAL_TEAM = "International"

# Well-known companies, for named-account demos: name, domain, city, industry, employees,
# parent's domain (None = top level).
NAMED_ACCOUNTS: tuple[tuple[str, str, str, str, int, str | None], ...] = (
    ("Robert Bosch GmbH", "bosch.de", "Stuttgart", "Automotive", 420000, None),
    ("Siemens AG", "siemens.com", "München", "Electronics", 320000, None),
    ("Siemens Healthineers AG", "siemens-healthineers.com", "Erlangen", "MedTech", 71000, "siemens.com"),
    ("BASF SE", "basf.com", "Ludwigshafen am Rhein", "Chemicals", 112000, None),
    ("Volkswagen AG", "volkswagen.de", "Wolfsburg", "Automotive", 680000, None),
    ("SAP SE", "sap.com", "Heidelberg", "Technology", 107000, None),
    ("Carl Zeiss AG", "zeiss.de", "Jena", "Electronics", 43000, None),
    ("B. Braun SE", "bbraun.de", "Kassel", "MedTech", 63000, None),
    ("Aesculap AG", "aesculap.de", "Tuttlingen", "MedTech", 3600, "bbraun.de"),
    ("Drägerwerk AG & Co. KGaA", "draeger.com", "Lübeck", "MedTech", 16000, None),
    ("Continental AG", "continental.com", "Hannover", "Automotive", 190000, None),
    ("Otto Group", "ottogroup.com", "Hamburg", "Retail", 38000, None),
    ("Deutsche Post AG", "dpdhl.com", "Bonn", "Transportation", 590000, None),
    ("Fresenius SE & Co. KGaA", "fresenius.com", "Frankfurt am Main", "Healthcare", 190000, None),
    ("Hapag-Lloyd AG", "hapag-lloyd.com", "Hamburg", "Shipping", 14000, None),
    ("Trumpf SE + Co. KG", "trumpf.com", "Stuttgart", "Machinery", 19000, None),
)

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_TRANSLITERATE = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ø": "oe", "æ": "ae", "å": "aa", "ł": "l", "&": "und"}
)


@functools.lru_cache(maxsize=65536)
def slug(text: str) -> str:
    """``"Müller & Söhne Maschinenbau"`` -> ``"mueller-und-soehne-maschinenbau"`` (domain-safe)."""
    text = text.lower().translate(_TRANSLITERATE)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NON_ALNUM.sub("-", text).strip("-")


def email_local_part(first: str, last: str) -> str:
    """``("Jörg", "Müller")`` -> ``"joerg.mueller"``."""
    return f"{slug(first)}.{slug(last)}".replace("-", "")
