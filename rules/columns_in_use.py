"""Which optional input columns a rules file depends on, so a file without one is named.

An accounts.csv without ``postal_code`` reads fine, but every postal-code territory then
covers nothing: the decisions change without an error. :func:`columns_in_use` says, for each
input file kind, which optional columns change the decisions under given rules and why; the
CLI warns about those a file lacks.
"""

from __future__ import annotations

from territory.rules.schema import Match, RulesConfig

_CRITERIA = ("country", "postal_code", "industry", "employees", "annual_revenue")


def columns_in_use(rules: RulesConfig) -> dict[str, dict[str, str]]:
    """``{"accounts": {column: why}, "opportunities": {...}}`` for the optional columns whose
    absence changes the decisions under ``rules``."""
    accounts = {
        "owner_id": "every account counts as unowned",
        "domain": "duplicates by website domain cannot be found",
    }
    for criterion in _CRITERIA:
        users = [t.id for t in rules.territories if getattr(t.match, criterion) is not None]
        users += [f"channel {name}" for name, match in _channel_matches(rules) if getattr(match, criterion) is not None]
        if users:
            shown = ", ".join(users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
            accounts[criterion] = f"{len(users)} rule(s) match on it ({shown}) and match no account"
    by_domain = sum(1 for entry in rules.named_accounts if entry.domain is not None)
    if by_domain:
        accounts["domain"] = f"{by_domain} named account(s) by domain and duplicates by domain cannot be found"
    if rules.channels.direct_only is not None:
        accounts["partner_id"] = "direct-only accounts that carry a partner cannot be found"
    if rules.coverage.potential.method == "annual_revenue":
        accounts.setdefault("annual_revenue", "every account's potential (balance, tiers) is 0")
    opportunities: dict[str, str] = {}
    if rules.grandfather_open_opportunities:
        opportunities["owner_id"] = "open opportunities cannot grandfather their owner"
        opportunities["is_closed"] = "every opportunity counts as open"
    if rules.coverage.potential.method == "opportunities":
        opportunities["amount"] = "every account's potential (balance, tiers) is 0"
    return {"accounts": accounts, "opportunities": opportunities}


def _channel_matches(rules: RulesConfig) -> list[tuple[str, Match]]:
    channels = rules.channels
    return [(name, rule.match) for name, rule in (("partner_led", channels.partner_led), ("direct_only", channels.direct_only)) if rule is not None]
