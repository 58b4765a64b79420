"""The paragraph at the top of the report: what needs attention first, most urgent first.

Order: reps over capacity (accounts go uncovered now), inactive owners holding accounts,
balance beyond the 20% fairness ceiling, pipeline coverage below 3x, open rule conflicts,
then territory size outside the guideline. Each item names the reps concerned (at most
three, then "and N more").
"""

from __future__ import annotations

from typing import Any

from territory.rules import health
from territory.sync.report import numbers

NAMES_SHOWN = 3


def _names(rows: list[dict[str, Any]], figure: str | None = None, fmt: Any = None) -> str:
    parts = [r["name"] + (f" ({fmt(r[figure])})" if figure else "") for r in rows[:NAMES_SHOWN]]
    more = len(rows) - NAMES_SHOWN
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def attention_items(figures: dict[str, Any]) -> list[dict[str, str]]:
    """Attention items as ``{"severity", "topic", "text"}``, most urgent first."""
    reps = figures["reps"]
    items: list[dict[str, str]] = []

    def flagged(flag: str, severity: str = "bad") -> list[dict[str, Any]]:
        return [r for r in reps if r["flags"].get(flag) == severity]

    over = sorted(flagged("utilisation"), key=lambda r: -(r["utilisation"] or 0))
    if over:
        uncovered = sum(r["overload_accounts"] for r in over)
        items.append({"severity": "bad", "topic": "capacity", "text": (
            f"{len(over)} rep{'s are' if len(over) > 1 else ' is'} over capacity — "
            f"{_names(over, 'utilisation', lambda v: numbers.percent(v) + ' of capacity')}; "
            f"{numbers.count(uncovered)} accounts cannot get {health.TOUCHES_FLOOR:g} touches this quarter")})
    inactive = flagged("inactive_owner")
    if inactive:
        held = sum(r["accounts"] for r in inactive)
        items.append({"severity": "bad", "topic": "inactive_owner", "text": (
            f"{numbers.count(held)} accounts are still owned by inactive users ({_names(inactive)})")})
    for key, label in (("potential", "potential"), ("workload", "workload")):
        unfair = sorted(flagged(f"{key}_balance"), key=lambda r: -abs(r[f"{key}_deviation"] or 0))
        if unfair:
            items.append({"severity": "bad", "topic": f"{key}_balance", "text": (
                f"{len(unfair)} rep{'s' if len(unfair) > 1 else ''} deviate more than "
                f"{health.BALANCE_CEILING:.0%} from the team mean on {label} — "
                f"{_names(unfair, f'{key}_deviation', lambda v: numbers.percent(v, signed=True))}")})
    thin = sorted(flagged("pipeline_coverage"), key=lambda r: r["pipeline_coverage"] or 0)
    if thin:
        items.append({"severity": "bad", "topic": "pipeline_coverage", "text": (
            f"pipeline coverage is below {health.PIPELINE_FLOOR:g}× quota for "
            f"{_names(thin, 'pipeline_coverage', numbers.ratio)}")})
    conflicts = figures["conflicts"]
    if conflicts.get("total"):
        kinds = ", ".join(f"{numbers.count(n)} {k.replace('_', ' ')}" for k, n in list(conflicts["by_type"].items())[:3])
        items.append({"severity": "warn", "topic": "conflicts", "text": (
            f"{numbers.count(conflicts['total'])} open rule conflicts ({kinds})")})
    size = [r for r in reps if r["active"] and "warn" in (r["flags"]["active_prospects"], r["flags"]["qualified_opportunities"])]
    if size:
        low, high = health.PROSPECTS_RANGE
        items.append({"severity": "warn", "topic": "territory_size", "text": (
            f"{len(size)} territor{'ies are' if len(size) > 1 else 'y is'} outside the {low}–{high} active "
            f"prospects / {health.QUALIFIED_RANGE[0]}–{health.QUALIFIED_RANGE[1]} qualified opportunities guideline")})
    items += _whitespace_items(figures.get("whitespace"), figures["currency"])
    return items


def _whitespace_items(whitespace: dict[str, Any] | None, currency: str) -> list[dict[str, str]]:
    if not whitespace or not whitespace["available"] or not whitespace["too_large_territories"]:
        return []
    return [{"severity": "warn", "topic": "whitespace", "text": (
        f"{numbers.percent(whitespace['too_large_share'])} of the untapped market potential "
        f"({numbers.money(whitespace['untapped_potential'], currency)}) lies in "
        f"{numbers.count(whitespace['too_large_territories'])} territories too large to work")}]


def summary_paragraph(figures: dict[str, Any], items: list[dict[str, str]]) -> str:
    """One paragraph: the book in a sentence, then the attention items in order."""
    team = figures["team"]
    opening = (f"{figures['quarter']['label']}: {numbers.count(team['accounts'])} accounts across "
               f"{team['reps']} active reps, {numbers.money(team['potential'], figures['currency'])} potential.")
    if not items:
        return f"{opening} Every territory is within the thresholds; nothing needs attention first."
    first, *rest = items
    text = f"{opening} First: {first['text']}."
    if rest:
        text += " Then: " + "; ".join(item["text"] for item in rest) + "."
    missing = [label for key, label in (("deals", "win rate and velocity"), ("activity", "activity"))
               if not figures[key]["available"]]
    if missing:
        text += f" No data for {' and '.join(missing)} (see below)."
    return text
