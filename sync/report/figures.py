"""Every figure of the quarterly report, as one JSON-ready dict (keys: docs/report.md).

Accounts, potential and workload count for the account's owner; pipeline, qualified
opportunities and closed deals for the opportunity's owner (the account's owner where the
opportunity has none). The team mean is over active reps; inactive owners still holding
accounts are listed (and flagged) but left out of the mean.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from territory.rules import health
from territory.rules.health import ClosedDeal, Quarter
from territory.sync.report.inputs import OppInput, RepInput, ReportInput

_REP_ID = re.compile(r"(?P<lead>owner |owned by |-> )?\b(?P<id>[A-Za-z0-9]+)\b")
SCHEMA_VERSION = 1
CONFLICTS_SHOWN = 10
MEAN_KEYS = (
    "accounts", "active_prospects", "qualified_opportunities", "potential", "workload", "capacity",
    "utilisation", "coverable_accounts", "overload_accounts", "quota", "pipeline_open",
    "pipeline_coverage", "win_rate", "median_days_to_close",
)


def build_figures(data: ReportInput, quarter: Quarter, *, currency: str, today: date | None = None) -> dict[str, Any]:
    """The report's figures for ``quarter`` (scenario and summary are added by the caller)."""
    today = today or datetime.now(UTC).date()
    history_start = quarter.shift(1 - health.HISTORY_QUARTERS).start
    reps = _listed_reps(data)
    rep_rows = _rep_rows(data, reps, quarter, history_start, today)
    figures: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quarter": {"label": quarter.label, "start": quarter.start.isoformat(), "end": quarter.end.isoformat()},
        "history": {"start": history_start.isoformat(), "end": quarter.end.isoformat(),
                    "quarters": health.HISTORY_QUARTERS},
        "source": data.source,
        "currency": currency,
        "thresholds": health.thresholds(),
        "reps": rep_rows,
        "team": _team(data, rep_rows),
        "deals": _deals(data, history_start, quarter.end),
        "activity": _activity(data, rep_rows),
        "conflicts": _conflict_figures(data),
    }
    return figures


def _listed_reps(data: ReportInput) -> list[RepInput]:
    owning = set(data.owner_ids)
    return [rep for rep in data.reps if rep.active or rep.id in owning]


def _owner_of(opp: OppInput, account_owner: dict[str, str | None]) -> str | None:
    return opp.owner_id or (account_owner.get(opp.account_id) if opp.account_id else None)


def _rep_rows(data: ReportInput, reps: list[RepInput], quarter: Quarter, history_start: date,
              today: date) -> list[dict[str, Any]]:
    index = {rep.id: i for i, rep in enumerate(reps)}
    codes = np.array([index.get(owner or "", -1) for owner in data.owner_ids], dtype=np.int64)
    owned = codes >= 0
    size = len(reps)
    counts = np.bincount(codes[owned], minlength=size)
    potential = np.bincount(codes[owned], weights=data.potential[owned], minlength=size)
    workload = np.bincount(codes[owned], weights=data.workload[owned], minlength=size)
    opp_figures = _opportunity_figures(data, index, quarter, history_start)
    rows = []
    for i, rep in enumerate(reps):
        capacity = rep.capacity or data.default_capacity
        rows.append(_rep_row(rep, int(counts[i]), float(potential[i]), float(workload[i]), capacity,
                             opp_figures.get(rep.id), quarter, today))
    _add_deviations(rows)
    return rows


def _rep_row(rep: RepInput, accounts: int, potential: float, workload: float, capacity: float,
             opps: dict[str, Any] | None, quarter: Quarter, today: date) -> dict[str, Any]:
    coverable = health.coverable_accounts(accounts, workload, capacity)
    utilisation = workload / capacity if capacity > 0 else None
    new = health.is_new_territory(rep.territory_since, today)
    row: dict[str, Any] = {
        "id": rep.id, "name": rep.name or rep.id, "active": rep.active,
        "accounts": accounts, "potential": potential, "workload": workload, "capacity": capacity,
        "utilisation": utilisation, "coverable_accounts": coverable,
        "overload_accounts": accounts - coverable, "overload_touches": max(0.0, workload - capacity),
        "quota": rep.quota, "quota_source": rep.quota_source,
        "territory_since": rep.territory_since.isoformat() if rep.territory_since else None,
        "new_territory": new,
    }
    row.update(opps or _no_opportunities(opps is None))
    quota = rep.quota
    pipeline = row["pipeline_open"]
    row["pipeline_coverage"] = pipeline / quota if quota and pipeline is not None else None
    row["flags"] = {
        "utilisation": health.utilisation_flag(utilisation),
        "pipeline_coverage": health.pipeline_flag(row["pipeline_coverage"], new),
        "active_prospects": health.range_flag(row["active_prospects"], health.PROSPECTS_RANGE),
        "qualified_opportunities": health.range_flag(row["qualified_opportunities"], health.QUALIFIED_RANGE),
        "inactive_owner": "bad" if not rep.active and accounts else "ok",
    }
    return row


def _no_opportunities(_: bool) -> dict[str, Any]:
    return {"active_prospects": None, "qualified_opportunities": None, "open_opportunities": None,
            "pipeline_open": None, "won": None, "lost": None, "win_rate": None,
            "median_days_to_close": None}


def _opportunity_figures(data: ReportInput, index: dict[str, int], quarter: Quarter,
                         history_start: date) -> dict[str, dict[str, Any]]:
    if data.opportunities is None:
        return {}
    account_owner = dict(zip(data.account_ids, data.owner_ids))
    out = {rep_id: {"prospect_accounts": set(), "qualified_opportunities": 0, "open_opportunities": 0,
                    "pipeline_open": 0.0, "deals": []} for rep_id in index}
    for opp in data.opportunities:
        owner = _owner_of(opp, account_owner)
        bucket = out.get(owner or "")
        if bucket is None:
            continue
        if not opp.is_closed:
            bucket["open_opportunities"] += 1
            bucket["qualified_opportunities"] += health.is_qualified_stage(opp.stage)
            if opp.account_id and account_owner.get(opp.account_id) == owner:
                bucket["prospect_accounts"].add(opp.account_id)
            if opp.close_date and quarter.start <= opp.close_date <= quarter.end:
                bucket["pipeline_open"] += opp.amount or 0.0
        elif _in_history(opp, history_start, quarter.end):
            bucket["deals"].append(_closed_deal(opp, ""))
    return {rep_id: _finish(bucket, data.activity) for rep_id, bucket in out.items()}


def _finish(bucket: dict[str, Any], activity: dict[str, int] | None) -> dict[str, Any]:
    stats = health.deal_stats(bucket["deals"])
    prospects = bucket["prospect_accounts"]
    return {"active_prospects": len(prospects), "qualified_opportunities": bucket["qualified_opportunities"],
            "open_opportunities": bucket["open_opportunities"], "pipeline_open": bucket["pipeline_open"],
            "won": stats.won, "lost": stats.lost, "win_rate": stats.win_rate,
            "median_days_to_close": stats.median_days_to_close}


def _in_history(opp: OppInput, start: date, end: date) -> bool:
    return opp.is_closed and opp.is_won is not None and opp.close_date is not None and start <= opp.close_date <= end


def _closed_deal(opp: OppInput, segment: str) -> ClosedDeal:
    days = (opp.close_date - opp.created_on).days if opp.close_date and opp.created_on else None
    return ClosedDeal(segment=segment, won=bool(opp.is_won), days_to_close=days if days is None or days >= 0 else None)


def _add_deviations(rows: list[dict[str, Any]]) -> None:
    active = [r for r in rows if r["active"]]
    for key in ("potential", "workload"):
        mean = float(np.mean([r[key] for r in active])) if active else 0.0
        for row in rows:
            deviation = health.relative_deviation(row[key], mean)
            row[f"{key}_deviation"] = deviation
            row["flags"][f"{key}_balance"] = health.balance_flag(deviation) if row["active"] else "none"


def _mean(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return float(np.mean(values)) if values else None


def _team(data: ReportInput, rows: list[dict[str, Any]]) -> dict[str, Any]:
    active = [r for r in rows if r["active"]]
    listed = {r["id"] for r in rows}
    deviations = {key: [abs(r[f"{key}_deviation"]) for r in active if r[f"{key}_deviation"] is not None]
                  for key in ("potential", "workload")}
    return {
        "reps": len(active), "listed_reps": len(rows), "accounts": len(data.account_ids),
        "unassigned_accounts": sum(1 for owner in data.owner_ids if owner not in listed),
        "potential": float(data.potential.sum()), "workload": float(data.workload.sum()),
        "capacity": float(sum(r["capacity"] for r in active)),
        "overloaded_reps": sum(1 for r in active if r["flags"]["utilisation"] == "bad"),
        "overload_accounts": sum(r["overload_accounts"] for r in rows),
        "mean": {key: _mean(active, key) for key in MEAN_KEYS},
        "max_deviation": {key: max(values) if values else None for key, values in deviations.items()},
    }


def _deals(data: ReportInput, start: date, end: date) -> dict[str, Any]:
    if data.opportunities is None:
        return {"available": False, "note": data.opportunities_note, "by_segment": [], "team": None}
    segment_of = dict(zip(data.account_ids, data.segments))
    closed = [o for o in data.opportunities if _in_history(o, start, end)]
    deals = [_closed_deal(o, segment_of.get(o.account_id or "", health.UNKNOWN_SEGMENT)) for o in closed]
    unknown = sum(1 for o in data.opportunities if o.is_closed and o.is_won is None)
    note = "" if deals else "no opportunity closed in the last four quarters is in the store"
    if unknown:
        note += f" {unknown} closed opportunities synced before won/lost was kept: run `territory sync --full`."
    return {
        "available": bool(deals), "note": note.strip(),
        "by_segment": [{"segment": s, **asdict(v)} for s, v in health.stats_by_segment(deals).items()],
        "team": asdict(health.deal_stats(deals)) if deals else None,
    }


def _activity(data: ReportInput, rows: list[dict[str, Any]]) -> dict[str, Any]:
    if data.activity is None:
        for row in rows:
            row["activity_per_account"] = row["activities"] = None
        return {"available": False, "note": f"no data: {data.activity_note}", "per_account": None,
                "total": None, "accounts_with_activity": None, "accounts_without_activity": None}
    per_rep: Counter[str] = Counter()
    for account_id, owner in zip(data.account_ids, data.owner_ids):
        per_rep[owner or ""] += data.activity.get(account_id, 0)
    for row in rows:
        row["activities"] = per_rep[row["id"]]
        row["activity_per_account"] = per_rep[row["id"]] / row["accounts"] if row["accounts"] else None
    in_book = [data.activity.get(account_id, 0) for account_id in data.account_ids]
    touched = sum(1 for n in in_book if n)
    return {"available": True, "note": "", "per_account": sum(in_book) / max(1, len(in_book)),
            "total": sum(in_book), "accounts_with_activity": touched,
            "accounts_without_activity": len(in_book) - touched}


def _with_names(text: str, names: dict[str, str]) -> str:
    """A rules reason with rep ids replaced by names: long ids anywhere, short ones (HubSpot's
    numbers) only where the reason names an owner ("owner 7", "owned by 7", "-> 7")."""
    def name(found: re.Match[str]) -> str:
        lead, rep_id = found.group("lead") or "", found.group("id")
        if names.get(rep_id) and (lead or len(rep_id) >= 6):
            return lead + names[rep_id]
        return found.group(0)

    return _REP_ID.sub(name, text)


def _conflict_figures(data: ReportInput) -> dict[str, Any]:
    if data.conflicts is None:
        return {"available": False, "note": data.conflicts_note, "total": None, "by_type": {}, "shown": [],
                "shown_per_type": CONFLICTS_SHOWN}
    by_type = Counter(c.status for c in data.conflicts)
    names = {rep.id: rep.name for rep in data.reps}
    shown: list[dict[str, Any]] = []
    for status in sorted(by_type, key=lambda s: -by_type[s]):
        picked = [c for c in data.conflicts if c.status == status][:CONFLICTS_SHOWN]
        shown += [{**asdict(c), "owner_name": names.get(c.owner_id or "", c.owner_id),
                   "reason_text": _with_names(c.reason, names)} for c in picked]
    return {"available": True, "note": "", "total": len(data.conflicts),
            "by_type": dict(by_type.most_common()), "shown": shown, "shown_per_type": CONFLICTS_SHOWN}
