"""Market data: prospect lists normalised and matched to CRM accounts, and whitespace.

Pure like the rest of ``rules``: plain records in, matches and figures out (no files, no
database, no CRM). Reading the files and storing sources live in ``territory.sync``.
"""

from territory.rules.market.columns import (
    FIELDS,
    column_map,
    detect_format,
    fold_rows,
    prospect_key,
)
from territory.rules.market.matching import METHODS, Match, Party, match_prospects, summarize
from territory.rules.market.normalize import (
    normalize_city,
    normalize_company_name,
    normalize_postal,
    registrable_domain,
)
from territory.rules.market.whitespace import AreaFigures, Whitespace, prospect_potential

__all__ = [
    "FIELDS",
    "METHODS",
    "AreaFigures",
    "Match",
    "Party",
    "Whitespace",
    "column_map",
    "detect_format",
    "fold_rows",
    "match_prospects",
    "normalize_city",
    "normalize_company_name",
    "normalize_postal",
    "prospect_key",
    "prospect_potential",
    "registrable_domain",
    "summarize",
]
