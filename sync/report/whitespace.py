"""The report's whitespace section: CRM potential vs the untapped potential of market prospects.

The figures are ``territory market whitespace``'s (:func:`territory.sync.whitespace.whitespace_report`):
unmatched prospects placed in territories by the rules, and the territories whose workload
including the whitespace exceeds the rep's capacity ("too large to work").
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from territory import rules
from territory.sync.report import numbers, page
from territory.sync.store import Store

NO_MARKET_DATA = "no market data imported: run `territory market import FILE` to see untapped potential"


def unavailable(note: str) -> dict[str, Any]:
    """The whitespace figures where there are none (same keys, empty)."""
    return {"available": False, "note": note, "untapped_potential": None, "too_large_share": None,
            "too_large_territories": None, "territories": [], "reps": []}


def whitespace_figures(store: Store, crm: str, rule_config: rules.RulesConfig, rep_names: dict[str, str],
                       *, rules_found: bool) -> dict[str, Any]:
    """Per territory and rep: CRM vs untapped potential, untapped share, too large to work."""
    from territory.sync.market import MarketStore
    from territory.sync.whitespace import whitespace_report

    if not rules_found:
        return unavailable("whitespace needs a rules file to place prospects in territories")
    if not MarketStore(store).sources():
        return unavailable(NO_MARKET_DATA)
    found = whitespace_report(store, crm, rule_config)
    if not found.territories and not found.reps:
        return unavailable(NO_MARKET_DATA)

    def rows(areas: list[Any]) -> list[dict[str, Any]]:
        out = []
        for area in areas:
            row = {**area.as_dict(), "owner_name": rep_names.get(area.owner_id or "", area.owner_id)}
            row["capacity"] = row["capacity"] if math.isfinite(row["capacity"]) else None  # no owner: no capacity
            out.append(row)
        return out

    territories = rows(found.territories)
    return {"available": True, "note": "", "untapped_potential": found.untapped_potential,
            "too_large_share": found.too_large_share,
            "too_large_territories": sum(1 for t in territories if t["too_large"]),
            "territories": territories, "reps": rows(found.reps)}


def _columns(currency: str) -> list[page.Column]:
    def money(key: str) -> Any:
        return lambda r: (numbers.money(r[key], currency), r[key], None)

    def count(key: str) -> Any:
        return lambda r: (numbers.count(r[key]), r[key], None)

    return [
        ("Rep", "the territory's owner", lambda r: (
            page.Html(page.rep_name({"id": r["owner_id"], "name": r["owner_name"] or r["owner_id"]}))
            if r["owner_id"] else "—", r["owner_name"] or "", None)),
        ("CRM accounts", "accounts in the CRM", count("crm_accounts")),
        ("CRM potential", f"potential of the CRM's accounts, {currency}", money("crm_potential")),
        ("Prospects", "market prospects no CRM account matches", count("prospects")),
        ("Untapped potential", f"their potential by the rules' formula, {currency}", money("untapped_potential")),
        ("Untapped share", "untapped / (CRM + untapped) potential",
         lambda r: (numbers.percent(r["untapped_share"]), r["untapped_share"], None)),
        ("Workload incl. whitespace", "touches per quarter for CRM accounts and prospects",
         lambda r: (numbers.count(r["crm_workload"] + r["untapped_workload"]),
                    r["crm_workload"] + r["untapped_workload"], None)),
        ("Capacity", "touches per quarter the rep can make", count("capacity")),
        ("Too large", "workload including the whitespace exceeds the capacity",
         lambda r: ("too large" if r["too_large"] else "", int(r["too_large"]), "bad" if r["too_large"] else None)),
    ]


def whitespace_section(figures: dict[str, Any], currency: str) -> str:
    """Untapped potential per territory, and the share in territories too large to work."""
    title = "Whitespace: untapped market potential"
    if not figures["available"]:
        return page.section(title, page.no_data(figures["note"]))
    share = figures["too_large_share"]
    lead = (f"<p>{numbers.money(figures['untapped_potential'], currency)} untapped potential in prospects no CRM "
            f"account matches; <b>{numbers.percent(share)}</b> of it lies in "
            f"{numbers.count(figures['too_large_territories'])} territories too large to work "
            "(workload including the whitespace above the rep's capacity).</p>")
    rows = [{**t, "id": t["id"], "name": t["id"], "active": True} for t in figures["territories"]]
    body = lead + '<div class="wide-table">' + page.table(rows, _columns(currency), table_id="whitespace",
                                                          name_header="Territory") + "</div>"
    return page.section(title, body + f'<p class="muted">{escape("Per rep in the JSON (whitespace.reps).")}</p>')
