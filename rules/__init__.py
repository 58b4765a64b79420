"""Rules of engagement: territories, named accounts, channels, tiebreakers -> decisions.

Pure: plain data in, decisions out (no CRM, no database). The only I/O is reading the YAML
rules file (:func:`load_rules`) and the CSV adapters in :mod:`rules.csv_io` used by the CLI.
"""

from territory.rules.approval import (
    APPROVE,
    DECISION_VALUES,
    REJECT,
    ApprovalContext,
    Verdict,
    approving_manager,
    authorize,
    build_approval_context,
)
from territory.rules.book import BookContext, OpportunityTable, RepDirectory
from territory.rules.coverage import (
    Balance,
    RepCoverage,
    assign_tiers,
    balance,
    potential_from_opportunities,
    potential_from_revenue,
    rep_coverage,
    workload_of,
)
from territory.rules.domains import DomainIndex, normalize_domain
from territory.rules.errors import CsvInputError, RulesFileError, TextFileError
from territory.rules.evaluate import build_book_context, evaluate
from territory.rules.explain import explain
from territory.rules.facts import Outcome
from territory.rules.loader import check_known_reps, load_rules, parse_rules
from territory.rules.matching import MatchIndex, criteria_results, matches
from territory.rules.outcomes import Evaluation
from territory.rules.postal import PostalRange, normalize_postal_code, parse_postal_range
from territory.rules.records import (
    CONFLICT_STATUSES,
    STATUS_PRECEDENCE,
    Account,
    Decision,
    Opportunity,
    Rep,
    Status,
)
from territory.rules.resolve import Resolution, resolve
from territory.rules.schema import DEFAULT_TIEBREAKERS, Approvers, RulesConfig, Territory
from territory.rules.table import AccountTable

__all__ = [
    "APPROVE",
    "DECISION_VALUES",
    "REJECT",
    "Account",
    "AccountTable",
    "ApprovalContext",
    "Approvers",
    "Balance",
    "BookContext",
    "CONFLICT_STATUSES",
    "CsvInputError",
    "DEFAULT_TIEBREAKERS",
    "Decision",
    "DomainIndex",
    "Evaluation",
    "MatchIndex",
    "Opportunity",
    "OpportunityTable",
    "Outcome",
    "PostalRange",
    "Rep",
    "RepCoverage",
    "RepDirectory",
    "Resolution",
    "RulesConfig",
    "RulesFileError",
    "STATUS_PRECEDENCE",
    "Status",
    "Territory",
    "TextFileError",
    "Verdict",
    "approving_manager",
    "assign_tiers",
    "authorize",
    "balance",
    "build_approval_context",
    "build_book_context",
    "check_known_reps",
    "criteria_results",
    "evaluate",
    "explain",
    "load_rules",
    "matches",
    "normalize_domain",
    "normalize_postal_code",
    "parse_postal_range",
    "parse_rules",
    "potential_from_opportunities",
    "potential_from_revenue",
    "rep_coverage",
    "resolve",
    "workload_of",
]
