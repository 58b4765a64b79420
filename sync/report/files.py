"""Build a report and write its page (and JSON): the one call the CLI and the demo make."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from territory import rules
from territory.config.settings import Settings
from territory.connector.links import build_record_link
from territory.rules.health import Quarter
from territory.sync.activity import activities_read, human_activity_counts
from territory.sync.report import Report, build_report
from territory.sync.report.inputs import ReportInput, ReportInputError, RepOverlay, load_store_input
from territory.sync.report.scenario import Owners, scenario_figures
from territory.sync.report.whitespace import whitespace_figures
from territory.sync.store import Store


@dataclass(frozen=True)
class ReportRequest:
    """What to report on and where to write it."""

    out: Path
    json_path: Path | None = None
    quarter: Quarter | None = None
    scenario: str | None = None
    overlay: RepOverlay = RepOverlay()


def write_report(report: Report, request: ReportRequest) -> None:
    """Write the page (and the JSON when asked), creating parent folders."""
    request.out.parent.mkdir(parents=True, exist_ok=True)
    request.out.write_text(report.html, encoding="utf-8")
    if request.json_path is not None:
        request.json_path.parent.mkdir(parents=True, exist_ok=True)
        request.json_path.write_text(json.dumps(report.figures, indent=2, default=str, ensure_ascii=False) + "\n",
                                     encoding="utf-8")


def current_quarter() -> Quarter:
    """The quarter today (UTC) falls in."""
    return Quarter.of(datetime.now(UTC).date())


def store_report(
    store: Store, settings: Settings, crm: str, rule_config: rules.RulesConfig, request: ReportRequest,
    *, rules_found: bool = True,
) -> Report:
    """Report on ``crm``'s synced book (and ``request.scenario``), written where asked."""
    quarter = request.quarter or current_quarter()
    data: ReportInput = load_store_input(
        store, crm, rule_config, overlay=request.overlay,
        account_link=build_record_link(settings, crm, "accounts"), rules_found=rules_found,
    )
    if settings.territory_quota_field and crm != "salesforce":
        data.extra["quota_note"] = (
            f"TERRITORY_QUOTA_FIELD ({settings.territory_quota_field}) names a Salesforce User field; {crm} "
            "owners have no custom fields, so quotas come only from --reps overlay.csv (a quota column)")
    if activities_read(store, crm):
        data.activity = human_activity_counts(store, crm, quarter.start, quarter.end)
    else:
        data.activity_note = "no activities read yet: run `territory sync` (it reads the CRM's activities too)"
    scenario: tuple[dict[str, Any], Owners] | None = None
    if request.scenario is not None:
        try:
            scenario = scenario_figures(store, data, request.scenario)
        except KeyError as exc:
            raise ReportInputError(str(exc.args[0])) from None
    names = {rep.id: rep.name for rep in data.reps}
    whitespace = whitespace_figures(store, crm, rule_config, names, rules_found=rules_found)
    report = build_report(data, quarter, currency=settings.territory_currency,
                          scenario=scenario, whitespace=whitespace)
    write_report(report, request)
    return report
