"""The full decision path for one account, as lines of text (``territory explain``)."""

from __future__ import annotations

from territory.rules.matching import criteria_results
from territory.rules.outcomes import Evaluation
from territory.rules.records import STATUS_PRECEDENCE

_NEAR_MISSES = 5


def explain(evaluation: Evaluation, account_id: str) -> list[str]:
    """Every step that led to the decision for ``account_id``.

    Raises:
        KeyError: the account is not in the evaluation.
    """
    row = evaluation.row_of(account_id)
    if row is None:
        raise KeyError(account_id)
    facts = evaluation.facts
    rules = facts.rules
    account = facts.table.account(row)
    decision = evaluation.decision(row)
    lines = [f"account {account.id} {account.name!s}".rstrip()]
    lines.append(
        "  inputs: "
        + ", ".join(
            f"{name}={getattr(account, name) if getattr(account, name) is not None else '-'}"
            for name in ("owner_id", "country", "postal_code", "industry", "employees", "annual_revenue", "domain", "sourcing_rep_id", "partner_id")
        )
    )
    lines.append("1. territories")
    lines.extend(_territory_lines(evaluation, row))
    lines.append("2. named accounts")
    named = int(facts.named[row])
    if named >= 0:
        entry = rules.named_accounts[named]
        lines.append(f"  named entry {entry.describe()} -> {entry.owner}" + (f" ({entry.reason})" if entry.reason else "") + ": overrides territories")
    else:
        lines.append("  no named entry for this account id or domain")
    lines.append("3. tiebreakers" + ("" if named < 0 else " (not needed: named account)"))
    lines.extend(f"  {step}" for step in evaluation.resolution(row, trace=True).steps)
    lines.append("4. checks")
    lines.extend(_check_lines(evaluation, row))
    lines.append(f"5. status by precedence ({' > '.join(s.value for s in STATUS_PRECEDENCE)})")
    lines.append(f"  status: {decision.status.value}")
    lines.append(f"  expected owner: {decision.expected_owner_id or '-'} (current: {decision.current_owner_id or '-'})")
    lines.append(f"  reason: {decision.reason}")
    return lines


def _territory_lines(evaluation: Evaluation, row: int) -> list[str]:
    facts = evaluation.facts
    account = facts.table.account(row)
    matched = set(evaluation.resolution(row).matched)
    lines: list[str] = []
    misses: list[tuple[int, str]] = []
    for index, territory in enumerate(facts.rules.territories):
        results = criteria_results(territory.match, account)
        shown = "; ".join(f"{crit} {'ok' if ok else 'NO'} ({value})" for crit, ok, value in results)
        if index in matched:
            lines.append(f"  MATCH {territory.id} (owner {territory.owner}, priority {territory.priority}): {shown}")
        else:
            passed = sum(ok for _, ok, _ in results)
            misses.append((-passed, f"  miss  {territory.id}: {shown}"))
    if not matched:
        lines.append("  no territory matched")
    misses.sort()
    lines.extend(text for _, text in misses[:_NEAR_MISSES])
    if len(misses) > _NEAR_MISSES:
        lines.append(f"  ... {len(misses) - _NEAR_MISSES} more territories did not match")
    return lines


def _check_lines(evaluation: Evaluation, row: int) -> list[str]:
    facts = evaluation.facts
    directory = facts.directory
    cur = facts.rep(int(facts.owner[row]))
    rule = facts.rep(int(facts.rule_owner[row]))
    lines = [
        f"  rules point to owner: {rule or '-'}",
        f"  current owner {cur or '-'}: " + ("-" if cur is None else ("active" if directory.is_active(cur) else "INACTIVE")),
        f"  same domain as an account with another owner: {'yes' if facts.duplicate[row] else 'no'}",
        f"  channel: partner_led={'yes' if facts.partner_led[row] else 'no'}, direct_only={'yes' if facts.direct_only[row] else 'no'}, "
        f"partner on account={'yes' if facts.table.partner.codes[row] >= 0 else 'no'}, owner is partner rep={'yes' if cur and directory.is_partner(cur) else 'no'}",
        f"  open opportunity of the current owner: {'yes' if facts.open_opportunity[row] else 'no'}"
        f" (grandfathering {'on' if facts.rules.grandfather_open_opportunities else 'off'})",
        f"  potential {facts.potential[row]:,.0f}, tier {facts.rules.coverage.tiers[int(facts.tier[row])].name}, workload {facts.workload[row]:g} touches/quarter",
    ]
    return lines
