"""The report as one self-contained HTML page: inline CSS, inline SVG charts, a few lines of
inline script for sortable tables. Nothing is fetched when it opens; it prints on A4 landscape."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from territory.rules import health
from territory.sync.report import numbers

_ASSETS = Path(__file__).with_name("assets")
Cell = tuple[str, Any, str | None]  # shown text, sort value, flag
Column = tuple[str, str, Callable[[dict[str, Any]], Cell]]  # header, tooltip, cell maker


def _attr(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


class Html(str):
    """Cell text that is markup already (escaped where it needs to be): shown as is."""


def _td(cell: Cell) -> str:
    text, sort_value, flag = cell
    css = f' class="flag-{flag}"' if flag and flag != "none" else ""
    return f'<td data-v="{_attr(sort_value)}"{css}>{text if isinstance(text, Html) else escape(text)}</td>'


def rep_name(row: dict[str, Any]) -> str:
    """A rep's name with the id on hover (and 'inactive' marked)."""
    suffix = ' <span class="muted">(inactive)</span>' if not row.get("active", True) else ""
    return f'<span title="{_attr(row["id"])}">{escape(row["name"])}</span>{suffix}'


def _mean_text(make: Callable[[dict[str, Any]], Cell], mean: dict[str, Any]) -> str:
    """A footer cell: blank where the mean has no such figure (deviations, flags)."""
    try:
        text, value, _ = make(mean)
    except KeyError:
        return ""
    return "" if value is None else text


def table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], *, mean: dict[str, Any] | None = None,
          table_id: str, name_header: str = "Rep") -> str:
    """A sortable table of reps: name column first, then ``columns``; ``mean`` as the footer."""
    head = f'<th data-kind="text">{escape(name_header)}</th>' + "".join(
        f'<th title="{_attr(tip)}">{escape(title)}</th>' for title, tip, _ in columns)
    body = "".join(
        f'<tr><td data-v="{_attr(r["name"])}">{rep_name(r)}</td>'
        + "".join(_td(make(r)) for _, _, make in columns) + "</tr>" for r in rows)
    foot = ""
    if mean is not None:
        foot = "<tfoot><tr><td>Team mean</td>" + "".join(
            f"<td>{escape(_mean_text(make, mean))}</td>" for _, _, make in columns) + "</tr></tfoot>"
    return (f'<table class="sortable" id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody>{foot}</table>")


def coverage_columns(currency: str) -> list[Column]:
    """Accounts, potential, workload against capacity, balance."""
    def flag(row: dict[str, Any], key: str) -> str | None:
        return row.get("flags", {}).get(key)

    return [
        ("Accounts", "accounts owned", lambda r: (numbers.count(r["accounts"]), r["accounts"], None)),
        ("Potential", f"potential by the rules' formula, {currency}",
         lambda r: (numbers.money(r["potential"], currency), r["potential"], None)),
        ("Δ potential", "deviation from the team mean (flag > 20%, target ≤ 5%)",
         lambda r: (numbers.percent(r.get("potential_deviation"), signed=True), r.get("potential_deviation"),
                    flag(r, "potential_balance"))),
        ("Workload", "touches per quarter the book needs (by tier)",
         lambda r: (numbers.count(r["workload"]), r["workload"], None)),
        ("Δ workload", "deviation from the team mean (flag > 20%, target ≤ 5%)",
         lambda r: (numbers.percent(r.get("workload_deviation"), signed=True), r.get("workload_deviation"),
                    flag(r, "workload_balance"))),
        ("Capacity", "touches per quarter the rep can make",
         lambda r: (numbers.count(r["capacity"]), r["capacity"], None)),
        ("Used", "workload / capacity", lambda r: (numbers.percent(r["utilisation"]), r["utilisation"],
                                                    flag(r, "utilisation"))),
        ("Coverable", "accounts the capacity covers at the book's touches per account",
         lambda r: (numbers.count(r["coverable_accounts"]), r["coverable_accounts"], None)),
        ("Overload", "accounts beyond what the capacity covers",
         lambda r: (numbers.count(r["overload_accounts"]), r["overload_accounts"],
                    "bad" if (r["overload_accounts"] or 0) > 0 else None)),
    ]


def pipeline_columns(currency: str) -> list[Column]:
    """Territory size, pipeline coverage, deals, activity."""
    def flag(row: dict[str, Any], key: str) -> str | None:
        return row.get("flags", {}).get(key)

    low, high = health.PROSPECTS_RANGE
    qlow, qhigh = health.QUALIFIED_RANGE
    return [
        ("Active prospects", f"owned accounts with an open opportunity (guideline {low}–{high})",
         lambda r: (numbers.count(r["active_prospects"]), r["active_prospects"], flag(r, "active_prospects"))),
        ("Qualified opps", f"open opportunities past qualification (guideline {qlow}–{qhigh})",
         lambda r: (numbers.count(r["qualified_opportunities"]), r["qualified_opportunities"],
                    flag(r, "qualified_opportunities"))),
        ("Quota", f"quarterly quota, {currency}", lambda r: (numbers.money(r["quota"], currency), r["quota"], None)),
        ("Pipeline", "open pipeline closing this quarter",
         lambda r: (numbers.money(r["pipeline_open"], currency), r["pipeline_open"], None)),
        ("Coverage", "pipeline / quota (flag < 3×; target 3–5×, 5–7× for territories under a year)",
         lambda r: (numbers.ratio(r["pipeline_coverage"]), r["pipeline_coverage"], flag(r, "pipeline_coverage"))),
        ("Win rate", "won / closed, last four quarters",
         lambda r: (numbers.percent(r["win_rate"]), r["win_rate"], None)),
        ("Days to close", "median days from create to close of won deals",
         lambda r: (numbers.count(r["median_days_to_close"]), r["median_days_to_close"], None)),
        ("Activity / account", "human activities (tasks, events, notes, meetings, calls) per account this quarter",
         lambda r: (numbers.decimal(r.get("activity_per_account")), r.get("activity_per_account"), None)),
    ]


def tiles(items: Sequence[tuple[str, str, str | None]]) -> str:
    """Key figures as tiles: (label, value, flag)."""
    return '<div class="tiles">' + "".join(
        f'<div class="tile{" flag-" + flag if flag else ""}"><div class="tile-value">{escape(value)}</div>'
        f'<div class="tile-label">{escape(label)}</div></div>' for label, value, flag in items) + "</div>"


def section(title: str, body: str, *, css: str = "") -> str:
    """A titled section."""
    return f'<section class="{css}"><h2>{escape(title)}</h2>{body}</section>'


def no_data(text: str) -> str:
    """The plain 'no data' sentence."""
    return f'<p class="nodata">No data: {escape(text.removeprefix("no data: "))}</p>'


def document(title: str, subtitle: str, summary: str, body: str) -> str:
    """The whole page."""
    style = (_ASSETS / "report.css").read_text(encoding="utf-8")
    script = (_ASSETS / "sort.js").read_text(encoding="utf-8")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{style}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p class=\"muted\">{escape(subtitle)}</p></header>"
        f'<p class="summary" id="summary">{escape(summary)}</p>{body}'
        f"<script>{script}</script></body></html>\n"
    )
