"""The quarterly territory health report: figures (JSON) and one self-contained HTML page.

:func:`build_report` turns a :class:`ReportInput` (from :func:`load_store_input` or
:func:`load_csv_input`) into the figures and the page; docs/report.md documents the JSON keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from territory.rules.health import Quarter
from territory.sync.report.figures import build_figures
from territory.sync.report.inputs import (
    ReportInput,
    ReportInputError,
    load_csv_input,
    load_store_input,
    read_rep_overlay,
)
from territory.sync.report.render import render_page
from territory.sync.report.scenario import Owners
from territory.sync.report.summary import attention_items, summary_paragraph
from territory.sync.report.whitespace import unavailable

__all__ = [
    "Quarter",
    "Report",
    "ReportInput",
    "ReportInputError",
    "build_report",
    "load_csv_input",
    "load_store_input",
    "read_rep_overlay",
]


@dataclass(frozen=True)
class Report:
    """The figures (JSON-ready) and the HTML page showing them."""

    figures: dict[str, Any]
    html: str


def build_report(
    data: ReportInput,
    quarter: Quarter,
    *,
    currency: str = "EUR",
    scenario: tuple[dict[str, Any], Owners] | None = None,
    whitespace: dict[str, Any] | None = None,
    today: date | None = None,
) -> Report:
    """Figures and page for ``quarter``; ``scenario`` is (its figures, owners before and
    after it); ``whitespace`` the untapped-potential figures (store mode, market data)."""
    figures = build_figures(data, quarter, currency=currency, today=today)
    figures["whitespace"] = whitespace or unavailable("market data needs the synced store")
    figures["scenario"] = scenario[0] if scenario else None
    figures["quota_note"] = data.extra.get("quota_note")
    items = attention_items(figures)
    figures["summary"] = {"text": summary_paragraph(figures, items), "attention": items}
    return Report(figures, render_page(figures, data, scenario[1] if scenario else None))
