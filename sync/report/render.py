"""Compose the page's sections from the figures (and the scenario's before/after owners)."""

from __future__ import annotations

from html import escape
from typing import Any

from territory.rules import health
from territory.sync.report import charts, numbers, page
from territory.sync.report.inputs import ReportInput
from territory.sync.report.scenario import Owners
from territory.sync.report.whitespace import whitespace_section

LEGEND = ('<p class="legend"><span class="l-bad">beyond threshold</span><span class="l-warn">'
          'outside target</span><span class="l-ok">on target</span> Hover a header for its definition, '
          'a name for the rep\'s id; click a header to sort.</p>')


def render_page(figures: dict[str, Any], data: ReportInput, owners: Owners | None) -> str:
    """The full HTML document for ``figures``."""
    currency = figures["currency"]
    sections = [
        _tiles(figures),
        _reps_section(figures, currency),
        _deals_section(figures),
        _activity_section(figures),
        _conflicts_section(figures),
    ]
    if figures.get("whitespace") is not None:
        sections.append(whitespace_section(figures["whitespace"], currency))
    if figures.get("scenario") is not None and owners is not None:
        sections.append(_scenario_section(figures["scenario"], data, owners, currency))
    sections.append(_footer(figures))
    source = figures["source"]
    origin = (f"{source['crm']} store {source['store']}" if source["kind"] == "store"
              else f"{source['accounts']} and {source['reps']}")
    subtitle = (f"Quarter {figures['quarter']['start']} – {figures['quarter']['end']} · from {origin} · "
                f"generated {figures['generated_at']}")
    return page.document(f"Territory health — {figures['quarter']['label']}", subtitle,
                         figures["summary"]["text"], "".join(sections))


def _tiles(figures: dict[str, Any]) -> str:
    team, currency = figures["team"], figures["currency"]
    conflicts = figures["conflicts"]
    deals = figures["deals"]
    win_rate = deals["team"]["win_rate"] if deals["team"] else None
    worst = team["max_deviation"]["potential"]
    return page.tiles([
        ("accounts", numbers.count(team["accounts"]), None),
        ("active reps", numbers.count(team["reps"]), None),
        ("potential", numbers.money(team["potential"], currency), None),
        ("reps over capacity", numbers.count(team["overloaded_reps"]), "bad" if team["overloaded_reps"] else "ok"),
        ("largest potential deviation", numbers.percent(worst), health.balance_flag(worst)),
        ("open conflicts", numbers.count(conflicts["total"]), "warn" if conflicts.get("total") else None),
        ("win rate, 4 quarters", numbers.percent(win_rate), None),
    ])


def _reps_section(figures: dict[str, Any], currency: str) -> str:
    rows, mean = figures["reps"], figures["team"]["mean"]
    mean_row = {"id": "", "name": "Team mean", **mean}
    body = (LEGEND + "<h3>Coverage and balance</h3>" + '<div class="wide-table">'
            + page.table(rows, page.coverage_columns(currency), mean=mean_row, table_id="reps-coverage") + "</div>"
            + f'<div class="chart">{charts.balance_chart(rows)}</div>'
            + "<h3>Territory size, pipeline and deals</h3>" + '<div class="wide-table">'
            + page.table(rows, page.pipeline_columns(currency), mean=mean_row, table_id="reps-pipeline")
            + "</div>")
    if figures.get("quota_note"):
        body += f'<p class="muted">{escape(figures["quota_note"])}</p>'
    if all(r["quota"] is None for r in rows):
        body += page.no_data("pipeline coverage needs a quota: pass --reps with a quota column, or (Salesforce) "
                             "name the User's quota field in TERRITORY_QUOTA_FIELD and sync")
    if all(r["active_prospects"] is None for r in rows):
        body += page.no_data("opportunities are not available from this source")
    return page.section("Reps and territories", body)


def _deals_section(figures: dict[str, Any]) -> str:
    deals = figures["deals"]
    if not deals["available"]:
        return page.section("Win rate and deal velocity by segment", page.no_data(deals["note"] or "no closed deals"))
    columns: list[page.Column] = [
        ("Won", "", lambda s: (numbers.count(s["won"]), s["won"], None)),
        ("Lost", "", lambda s: (numbers.count(s["lost"]), s["lost"], None)),
        ("Win rate", "won / (won + lost)", lambda s: (numbers.percent(s["win_rate"]), s["win_rate"], None)),
        ("Median days", "create to close, won deals",
         lambda s: (numbers.count(s["median_days_to_close"]), s["median_days_to_close"], None)),
        ("Mean days", "", lambda s: (numbers.count(s["mean_days_to_close"]), s["mean_days_to_close"], None)),
    ]
    rows = [{"id": s["segment"], "name": s["segment"], **s} for s in deals["by_segment"]]
    team = {"id": "", "name": "All", **deals["team"]}
    body = (f'<p class="muted">Opportunities closed {figures["history"]["start"]} – {figures["history"]["end"]}; '
            "segments by employees (SMB &lt; 100, Mid-market &lt; 1,000, Enterprise).</p>"
            + page.table(rows, columns, mean=team, table_id="segments", name_header="Segment")
            + f'<div class="chart">{charts.segment_chart(deals["by_segment"])}</div>')
    if deals["note"]:
        body += f'<p class="muted">{escape(deals["note"])}</p>'
    return page.section("Win rate and deal velocity by segment", body)


def _activity_section(figures: dict[str, Any]) -> str:
    activity = figures["activity"]
    if not activity["available"]:
        return page.section("Activity per account", page.no_data(activity["note"]))
    return page.section("Activity per account", (
        f"<p><b>{numbers.decimal(activity['per_account'])}</b> activities per account this quarter "
        f"({numbers.count(activity['total'])} in all; {numbers.count(activity['accounts_without_activity'])} "
        "accounts without any). Counted: the CRM's tasks, events, notes, meetings and calls on the account "
        "dated in the quarter, without the agent's own tasks and notes; per rep in the table above.</p>"))


def _conflicts_section(figures: dict[str, Any]) -> str:
    conflicts = figures["conflicts"]
    if not conflicts["available"]:
        return page.section("Open conflicts", page.no_data(conflicts["note"]))
    if not conflicts["total"]:
        return page.section("Open conflicts", "<p>No open rule conflicts.</p>")
    counts = " · ".join(f"{escape(k.replace('_', ' '))}: <b>{numbers.count(n)}</b>" for k, n in conflicts["by_type"].items())
    rows = "".join(
        f'<tr><td data-v="{escape(c["status"])}">{escape(c["status"].replace("_", " "))}</td>'
        f'<td class="text" data-v="{escape(c["account_name"])}">{_record_link(c)}</td>'
        f'<td class="text" data-v="{escape(c["owner_id"] or "")}">{escape(c["owner_name"] or "—")}</td>'
        f'<td class="text" data-v="">{escape(c["reason_text"])}</td></tr>' for c in conflicts["shown"])
    more = conflicts["total"] - len(conflicts["shown"])
    note = (f'<p class="muted">Showing up to {conflicts["shown_per_type"]} per type; {numbers.count(more)} more '
            "in `territory check --dry-run --json`.</p>" if more > 0 else "")
    table = ('<table class="sortable" id="conflicts"><thead><tr><th>Type</th><th>Account</th><th>Owner</th>'
             f'<th data-kind="text">Reason</th></tr></thead><tbody>{rows}</tbody></table>')
    return page.section("Open conflicts", f"<p>{counts}</p>{table}{note}")


def _record_link(conflict: dict[str, Any]) -> str:
    name = escape(conflict["account_name"] or conflict["account_id"])
    if conflict.get("url"):
        return f'<a href="{escape(conflict["url"], quote=True)}" title="{escape(conflict["account_id"])}">{name}</a>'
    return f'<span title="{escape(conflict["account_id"])}">{name}</span>'


def _scenario_section(scenario: dict[str, Any], data: ReportInput, owners: Owners, currency: str) -> str:
    balance, travel = scenario["balance"], scenario["travel"]
    proposals = scenario["proposals"]
    facts = page.tiles([
        ("moves", numbers.count(scenario["moves"]), None),
        ("potential moved", numbers.percent(scenario["moved_potential_share"]), None),
        ("max Δ potential before → after",
         f"{numbers.percent(balance['max_deviation_potential_before'])} → {numbers.percent(balance['max_deviation_potential_after'])}",
         health.balance_flag(balance["max_deviation_potential_after"])),
        ("travel per visit before → after", _travel_text(travel), None),
    ])
    states = " · ".join(f"{escape(k)}: <b>{numbers.count(v)}</b>" for k, v in proposals["by_state"].items())
    published = "" if proposals["published"] else " (moves as planned; no proposals published yet)"
    maps = charts.owner_maps(data.lat, data.lon, *owners)
    columns: list[page.Column] = [
        (f"{label} {side}", "", (lambda k, s: lambda r: (_fmt(k, r[f"{k}_{s}"], currency), r[f"{k}_{s}"], None))(key, side))
        for key, label in (("accounts", "Accounts"), ("potential", "Potential")) for side in ("before", "after")
    ] + [(f"Δ potential {side}", "deviation from the team mean",
          (lambda s: lambda r: (numbers.percent(r[f"potential_deviation_{s}"], signed=True), r[f"potential_deviation_{s}"],
                                health.balance_flag(r[f"potential_deviation_{s}"]) if r["active"] else None))(side))
         for side in ("before", "after")]
    body = (f'<p class="muted">Scenario {escape(scenario["name"])}, saved {escape(str(scenario["created_at"]))}.</p>'
            + facts + f'<div class="chart">{maps}</div>'
            + f'<div class="pair"><div class="chart">{charts.scenario_balance_chart(scenario["reps"])}</div>'
            + f'<div><div class="chart">{charts.moves_chart(scenario["moves_by_reason"] or {"none": 0})}</div>'
            + f"<h3>Proposals by state</h3><p>{states or 'none'}{published}</p></div></div>"
            + page.table(scenario["reps"], columns, table_id="scenario-reps"))
    return page.section("Scenario: before and after", body)


def _fmt(key: str, value: float, currency: str) -> str:
    return numbers.money(value, currency) if key == "potential" else numbers.count(value)


def _travel_text(travel: dict[str, Any]) -> str:
    if travel["minutes_per_visit_before"] is not None and travel["minutes_per_visit_after"] is not None:
        return f"{numbers.decimal(travel['minutes_per_visit_before'])} → {numbers.decimal(travel['minutes_per_visit_after'])} min"
    return f"{numbers.decimal(travel['km_per_visit_before'])} → {numbers.decimal(travel['km_per_visit_after'])} km"


def _footer(figures: dict[str, Any]) -> str:
    t = figures["thresholds"]
    return ("<footer>Definitions: potential and workload by the rules file's coverage math (touches per tier "
            f"per quarter, floor {t['touches_floor']:g}); balance flags above {t['balance_ceiling']:.0%}, "
            f"target {t['balance_target']:.0%}; pipeline coverage flags below {t['pipeline_floor']:g}×, target "
            f"{t['pipeline_target'][0]:g}–{t['pipeline_target'][1]:g}× ({t['pipeline_target_new'][0]:g}–"
            f"{t['pipeline_target_new'][1]:g}× for territories under a year); territory size "
            f"{t['active_prospects'][0]}–{t['active_prospects'][1]} active prospects, "
            f"{t['qualified_opportunities'][0]}–{t['qualified_opportunities'][1]} qualified opportunities. "
            "Figures in the JSON export (docs/report.md).</footer>")
