"""Human-readable reasons that quote the deciding rule."""

from __future__ import annotations

from collections.abc import Callable

from territory.rules.facts import Outcome, RowFacts
from territory.rules.records import STATUS_PRECEDENCE, Status


def rule_text(facts: RowFacts, resolution_id: int, named: int) -> tuple[str, str]:
    """(reason fragment, deciding-rule tag) for what the rules alone say."""
    territories = facts.rules.territories
    if named >= 0:
        entry = facts.rules.named_accounts[named]
        note = f": {entry.reason}" if entry.reason else ""
        key = entry.account if entry.account is not None else entry.domain
        return f"named account rule ({entry.describe()}{note}) -> {entry.owner}", f"named:{key}"
    resolution = facts.resolutions[resolution_id]
    if resolution.territory is None:
        return "no territory or named-account rule matches", "none"
    winner = territories[resolution.territory]
    quoted = _quoted_territory(facts, resolution.territory)
    if len(resolution.matched) == 1:
        return f"{quoted} -> {winner.owner}", f"territory:{winner.id}"
    listed = ", ".join(territories[i].id for i in resolution.matched)
    if resolution.tiebreaker is None:
        return f"territories {listed} matched, all owned by {winner.owner}; {quoted}", f"territory:{winner.id}"
    return (
        f"territories {listed} matched; tiebreaker {resolution.tiebreaker} chose {quoted} -> {winner.owner}",
        f"tiebreaker:{resolution.tiebreaker}:{winner.id}",
    )


def _quoted_territory(facts: RowFacts, index: int) -> str:
    quoted = facts.caches.setdefault("quoted_territory", {})
    if index not in quoted:
        territory = facts.rules.territories[index]
        quoted[index] = f"territory {territory.id} ({territory.match.describe()})"
    return quoted[index]


def outcome_builder(facts: RowFacts) -> Callable[[int, int, int, int, int, int, int], Outcome]:
    """A function ``(row, status, current, rule owner, expected, resolution, named)`` ->
    :class:`Outcome`, with every per-evaluation lookup bound once (it runs per outcome)."""
    texts_of: dict[tuple[int, int], tuple[str, str, tuple[str, ...]]] = {}
    labels = [*facts.rep_labels, None]  # code -1 -> None
    reasons = [REASON_WRITERS[status] for status in STATUS_PRECEDENCE]
    territories = facts.rules.territories

    def build(row: int, status_code: int, cur_code: int, rule_code: int, expected_code: int, resolution_id: int, named: int) -> Outcome:
        texts = texts_of.get((resolution_id, named))
        if texts is None:
            matched = facts.resolutions[resolution_id].matched
            texts = texts_of[(resolution_id, named)] = (*rule_text(facts, resolution_id, named), tuple(territories[i].id for i in matched))
        text, tag, territory_ids = texts
        rule = labels[rule_code]
        reason = reasons[status_code](facts, row, labels[cur_code], rule, text)
        return Outcome(labels[expected_code], territory_ids, STATUS_PRECEDENCE[status_code], reason, rule, tag)

    return build


def describe_outcome(facts: RowFacts, row: int) -> Outcome:
    """The outcome of one row (convenience; bulk evaluation uses :func:`outcome_builder`)."""
    columns = (facts.status, facts.owner, facts.rule_owner, facts.expected, facts.resolution_of_row, facts.named)
    return outcome_builder(facts)(row, *(int(column[row]) for column in columns))


def _inactive(facts: RowFacts, row: int, cur: str | None, rule: str | None, text: str) -> str:
    directory = facts.directory
    if cur is not None and not directory.is_active(cur):
        follow = f"; {text}" if rule is not None and directory.is_active(rule) else "; reassign it"
        return f"current owner {cur} is inactive{follow}"
    return f"{text}, but {rule} is inactive: update the rules file or reactivate the rep"


def _duplicate(facts: RowFacts, row: int, cur: str | None, rule: str | None, text: str) -> str:
    account_id = facts.table.ids[row].decode("utf-8", "replace")
    domain = facts.table.domain[row].decode("utf-8", "replace")
    if facts.domain_index is not None:
        others = [(h.account_id, h.owner_id) for h in facts.domain_index.conflicting_holders(account_id, domain, cur)]
    else:
        holders = _shared_domain_holders(facts).get(facts.table.domain[row], [])
        others = [(other_id, owner) for other_row, other_id, owner in holders if other_row != row and owner != cur]
    first_id, first_owner = others[0]
    more = f" and {len(others) - 1} more" if len(others) > 1 else ""
    return f"domain {domain} is also on {first_id} (owner {first_owner or 'nobody'}){more} while this one is owned by {cur or 'nobody'}; {text}"


def _shared_domain_holders(facts: RowFacts) -> dict[bytes, list[tuple[int, str, str | None]]]:
    """Domain -> (row, account id, owner) of rows sharing it, sorted by id; built once."""
    if "domain_holders" not in facts.caches:
        holders: dict[bytes, list[tuple[int, str, str | None]]] = {}
        for other in facts.shared_domain_rows.tolist():
            entry = (other, facts.table.ids[other].decode("utf-8", "replace"), facts.rep(int(facts.owner[other])))
            holders.setdefault(facts.table.domain[other], []).append(entry)
        for entries in holders.values():
            entries.sort(key=lambda entry: entry[1])
        facts.caches["domain_holders"] = holders
    return facts.caches["domain_holders"]


def _partner(facts: RowFacts, row: int, cur: str | None, rule: str | None, text: str) -> str:
    channels = facts.rules.channels
    variant = int(facts.partner_variant[row])
    problems = []
    if variant & 1 and channels.partner_led is not None:
        problems.append(f"channel rule partner_led ({channels.partner_led.match.describe()}) needs a partner-channel rep, but the current owner is not one")
    if variant & 6 and channels.direct_only is not None:
        what = "the account carries a partner" if variant & 2 else "the current owner is a partner-channel rep"
        problems.append(f"channel rule direct_only ({channels.direct_only.match.describe()}), but {what}")
    return "; ".join(problems) + f"; {text}"


def _grandfathered(facts: RowFacts, row: int, cur: str | None, rule: str | None, text: str) -> str:
    if "grandfather_opp" not in facts.caches:
        account_rows, opp_rows = facts.grandfather_opp
        facts.caches["grandfather_opp"] = dict(zip(account_rows.tolist(), opp_rows.tolist()))
    opp_row = facts.caches["grandfather_opp"].get(row)
    opp = facts.opps
    detail = "an open opportunity"
    if opp is not None and opp_row is not None:
        stage = opp.stage.value(opp_row)
        amount = float(opp.amount[opp_row])
        extras = ", ".join(x for x in (stage, None if amount != amount else f"{amount:,.0f}") if x)
        detail = f"open opportunity {opp.ids[opp_row].decode('utf-8', 'replace')}" + (f" ({extras})" if extras else "")
    return f"{text}, but {cur} keeps it for now (grandfather_open_opportunities): {detail}"


def _mismatch(facts: RowFacts, row: int, cur: str | None, rule: str | None, text: str) -> str:
    return f"the owner should change: {text}"


def _unassigned(facts: RowFacts, row: int, cur: str | None, rule: str | None, text: str) -> str:
    return "no territory or named-account rule matches and nobody owns the account"


def _uncovered(facts: RowFacts, row: int, cur: str | None, rule: str | None, text: str) -> str:
    return f"no territory or named-account rule matches; {cur} keeps it (coverage gap in the rules)"


def _as_expected(facts: RowFacts, row: int, cur: str | None, rule: str | None, text: str) -> str:
    return text


# One reason writer per status (what the tests check every status has).
REASON_WRITERS = {
    Status.INACTIVE_OWNER: _inactive,
    Status.DUPLICATE: _duplicate,
    Status.PARTNER_CONFLICT: _partner,
    Status.GRANDFATHERED: _grandfathered,
    Status.MISMATCH: _mismatch,
    Status.UNASSIGNED: _unassigned,
    Status.UNCOVERED: _uncovered,
    Status.NAMED: _as_expected,
    Status.OVERLAP: _as_expected,
    Status.OK: _as_expected,
}
