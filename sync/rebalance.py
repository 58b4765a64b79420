"""The agent's scheduled rebalance: plan a new scenario from the synced store, then publish it.

The same path as ``territory plan`` on the store (instance from :mod:`sync.planning`, the
planner's one entry ``planner.plan``, the plan saved as a scenario) followed by ``territory
propose``. Managers still decide every move in the CRM; nothing is applied here.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from territory import rules
from territory.sync.planning import build_store_instance
from territory.sync.proposals import propose
from territory.sync.scenarios import MoveInput


def scenario_name(now: datetime | None = None) -> str:
    """``rebalance-YYYYMMDD-HHMM`` (UTC)."""
    return f"rebalance-{(now or datetime.now(UTC)):%Y%m%d-%H%M}"


def plan_and_publish(ctx: Any, rule_config: rules.RulesConfig) -> dict[str, Any]:
    """Plan, save and publish one scenario; ``ctx`` is a :class:`sync.jobs.JobContext`.

    Returns the run's summary: scenario, moves, balance figures and what ``propose`` did.
    """
    from territory.planner import HARD_KINDS, PlanOptions, plan, plan_report

    crm = ctx.connector.crm
    built = build_store_instance(ctx.store, crm, rule_config)
    options = PlanOptions(time_limit=ctx.settings.territory_rebalance_time_limit_s)
    started = time.perf_counter()
    result = plan(built.instance, options)
    metrics = json.loads(json.dumps(plan_report(built.instance, options, result, time.perf_counter() - started),
                                    default=str))
    name = scenario_name()
    if ctx.store.scenarios.get(name) is not None:
        return {"outcome": "skipped", "message": f"scenario {name!r} exists already (rebalance ran this minute)"}
    moves = [MoveInput(m.account_id, m.from_owner_id, m.to_owner_id, m.reason) for m in result.moves]
    ctx.store.scenarios.save(name, options.__dict__, metrics, moves)
    summary: dict[str, Any] = {
        "scenario": name, "moves": len(moves), "notes": built.notes,
        "max_dev_potential_after": metrics.get("max_deviation_potential"),
    }
    hard = [v for v in result.violations or [] if v.kind in HARD_KINDS]
    if hard:
        summary.update(outcome="partial", published=0,
                       message=f"not published: the plan breaks {len(hard)} hard rules ({hard[0].detail})")
        return summary
    ctx.checkpoint()
    report = propose(ctx.store, ctx.connector, name, rule_config)
    summary.update(published=report.published, superseded=report.superseded, tasks=report.tasks,
                   failed=report.failed, outcome="partial" if report.failed else "ok")
    return summary
