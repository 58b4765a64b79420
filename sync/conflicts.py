"""Automatic conflict detection on inbound records, flagged in the CRM exactly once.

After a sync (or on ``territory check``) the changed accounts, plus the accounts they may now
collide with (same website domain), are evaluated against the rules. Every conflict becomes
one task on the account in the CRM, assigned to the owner's manager (else the owner, else the
expected owner), naming the conflict and the deciding rule.

Exactly once, across re-runs, crashes and restarts, comes from the outbox:

1. *Decide*: each conflict has a stable key (account, status, current and expected owner);
   the intent to flag it is enqueued under that key (unique), so a re-run enqueues nothing new.
2. *Deliver*: pending flags are first looked up in the CRM by the ``[territory:KEY]`` marker
   the connectors put on every task (a crash after the CRM write but before our commit is
   reconciled, not repeated); only the missing ones are created.
3. *Resolve*: a flag whose conflict is gone gets its task completed, again via the outbox.
   Should the same conflict come back later, it is a new *episode* with its own key
   (``KEY~2``, ``KEY~3``...), so it is flagged again, still exactly once.

With ``auto_assign: true`` in the rules file, unowned accounts the rules can place are assigned
to their expected owner; the CRM write and the audit entry follow the same outbox discipline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from territory import rules
from territory.config import load_settings
from territory.connector.base import CrmConnector
from territory.connector.records import ActivityRequest, OwnerChange
from territory.sync.assignment_notes import note_assignments
from territory.sync.book import Book, load_book, load_reps
from territory.sync.conflict_texts import BookNames, flag_row, task_body, task_subject
from territory.sync.history import HistoryEntry
from territory.sync.store import Store
from territory.sync.tables import AccountRow, OutboxRow, utc_now

CONFLICT_FLAG = "conflict_flag"
CONFLICT_RESOLVE = "conflict_resolve"
AUTO_ASSIGN = "auto_assign"
SOURCE_AUTO_ASSIGN = "auto_assign"

@dataclass
class ConflictReport:
    """What one detection pass found and did."""

    crm: str
    dry_run: bool = False
    evaluated: int = 0
    conflicts: dict[str, int] = field(default_factory=dict)
    flagged: int = 0
    reconciled: int = 0
    already_flagged: int = 0
    resolved: int = 0
    auto_assigned: int = 0
    skipped_assignments: list[str] = field(default_factory=list)  # owned in the CRM meanwhile
    failures: list[str] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    would_flag: int = 0  # new tasks this pass creates (or, on a dry run or when capped, would)
    max_flags: int | None = None
    capped: bool = False  # more than max_flags new tasks: nothing was written

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``--json``)."""
        return dict(self.__dict__)


def conflict_key(decision: rules.Decision) -> str:
    """Stable key of one conflict: same conflict, same key, on every run."""
    facts = f"{decision.current_owner_id}|{decision.expected_owner_id}"
    digest = hashlib.sha1(facts.encode()).hexdigest()[:10]
    return f"conflict:{decision.account_id}:{decision.status.value}:{digest}"


def detect_conflicts(
    store: Store,
    connector: CrmConnector,
    rule_config: rules.RulesConfig,
    *,
    changed_ids: Iterable[str] | None = None,
    dry_run: bool = False,
    max_flags: int | None = None,
) -> ConflictReport:
    """Evaluate inbound accounts (or all with ``changed_ids=None``) and flag conflicts.

    Args:
        store: The synced store (source of the book and home of the outbox).
        connector: Where flags, resolutions and auto-assignments are written.
        rule_config: Validated rules.
        changed_ids: Accounts inserted or changed by the last sync; None checks everything.
        dry_run: Decide and report, write nothing (neither outbox nor CRM).
        max_flags: When more new tasks than this would be created, write nothing at all and
            report ``capped`` (None: no cap).
    """
    report = ConflictReport(crm=connector.crm, dry_run=dry_run, max_flags=max_flags)
    book = load_book(store, connector.crm)
    names = BookNames.of(book)
    scope, decisions = _evaluate_scope(book, rule_config, changed_ids)
    report.evaluated = len(decisions)
    current = {conflict_key(d): d for d in decisions if d.status in rules.CONFLICT_STATUSES}
    open_conflicts, _ = _open_and_next_episode(store)
    for key, decision in current.items():
        report.conflicts[decision.status.value] = report.conflicts.get(decision.status.value, 0) + 1
        report.flags.append(flag_row(names, decision, key, key in open_conflicts))
    report.would_flag = sum(1 for key in current if key not in open_conflicts)
    report.capped = not dry_run and max_flags is not None and report.would_flag > max_flags
    if dry_run or report.capped:
        return report
    _enqueue_flags(store, names, current, report)
    _enqueue_resolutions(store, scope, set(current), report)
    if rule_config.auto_assign:
        _enqueue_assignments(store, decisions)
    deliver_outbox(store, connector, report)
    return report


def _evaluate_scope(
    book: Book, rule_config: rules.RulesConfig, changed_ids: Iterable[str] | None
) -> tuple[set[str], list[rules.Decision]]:
    """Account ids in scope (incl. deleted ones) and the decisions for the live ones."""
    if not book.accounts:
        return set(changed_ids or ()), []
    kwargs: dict[str, Any] = {"reps": book.reps, "opportunities": book.opportunities}
    if changed_ids is None:
        scope = book.account_ids()
        subset = book.accounts
        context = None
    else:
        changed = set(changed_ids)
        context = rules.build_book_context(book.accounts, rule_config, **kwargs)
        scope = context.related_account_ids(changed) | changed
        subset = [a for a in book.accounts if a.id in scope]
    if not subset:
        return scope, []
    evaluation = rules.evaluate(subset, rule_config, context=context, **kwargs)
    return scope, list(evaluation.decisions())


EPISODE_SEPARATOR = "~"


def conflict_of(flag_key: str) -> str:
    """The conflict key behind a flag's key (``KEY`` or episode ``KEY~n``)."""
    return flag_key.split(EPISODE_SEPARATOR, 1)[0]


def _open_and_next_episode(store: Store) -> tuple[set[str], dict[str, str]]:
    """Conflicts with an unresolved flag, and the key the next flag of each other conflict
    gets (``KEY`` the first time, ``KEY~n`` after n - 1 resolved episodes)."""
    resolved = {row.payload.get("flag_key") for row in _rows(store, CONFLICT_RESOLVE)}
    open_conflicts: set[str] = set()
    episodes: dict[str, int] = {}
    for row in _rows(store, CONFLICT_FLAG):
        conflict = conflict_of(row.external_key)
        episodes[conflict] = episodes.get(conflict, 0) + 1
        if row.external_key not in resolved:
            open_conflicts.add(conflict)
    return open_conflicts, {c: f"{c}{EPISODE_SEPARATOR}{n + 1}" for c, n in episodes.items()}


def _enqueue_flags(
    store: Store, names: BookNames, current: dict[str, rules.Decision], report: ConflictReport
) -> None:
    open_conflicts, next_key = _open_and_next_episode(store)
    new: list[tuple[str, dict[str, Any]]] = []
    for conflict, decision in current.items():
        if conflict in open_conflicts:
            report.already_flagged += 1
            continue
        payload = {
            "account_id": decision.account_id,
            "status": decision.status.value,
            "subject": task_subject(names, decision),
            "body": task_body(names, decision),
            "owner_id": names.assignee(decision),
        }
        new.append((next_key.get(conflict, conflict), payload))
    _insert_outbox(store, CONFLICT_FLAG, new)


def _enqueue_resolutions(
    store: Store, scope: set[str], current_keys: set[str], report: ConflictReport
) -> None:
    resolved = {row.payload.get("flag_key") for row in _rows(store, CONFLICT_RESOLVE)}
    for row in _rows(store, CONFLICT_FLAG):
        key = row.external_key
        if row.payload.get("account_id") not in scope or conflict_of(key) in current_keys or key in resolved:
            continue
        payload = {"flag_key": key, "account_id": row.payload.get("account_id")}
        store.outbox.enqueue(CONFLICT_RESOLVE, payload, f"resolved:{key}")


def _enqueue_assignments(store: Store, decisions: Sequence[rules.Decision]) -> None:
    for d in decisions:
        if d.current_owner_id is None and d.expected_owner_id is not None:
            payload = {
                "account_id": d.account_id,
                "new_owner_id": d.expected_owner_id,
                "rule": d.deciding_rule,
                "reason": d.reason,
            }
            store.outbox.enqueue(AUTO_ASSIGN, payload, f"assign:{d.account_id}:{d.expected_owner_id}")


def _insert_outbox(store: Store, kind: str, items: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Enqueue many new intents in one transaction (keys are known to be new)."""
    if not items:
        return
    outbox: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
    now = utc_now()
    rows = [
        {"kind": kind, "payload": payload, "external_key": key, "status": "pending",
         "attempts": 0, "created_at": now}
        for key, payload in items
    ]
    with store.transaction() as conn:
        conn.execute(sa.insert(outbox), rows)


def _mark_sent_many(store: Store, sent: Sequence[tuple[int, str | None]]) -> None:
    """Record many successful sends in one transaction."""
    if not sent:
        return
    outbox: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
    now = utc_now()
    with store.transaction() as conn:
        for row_id, crm_id in sent:
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == row_id)
                .values(status="sent", crm_id=crm_id, sent_at=now, attempts=outbox.c.attempts + 1)
            )


def _rows(store: Store, kind: str, status: str | None = None) -> list[OutboxRow]:
    query = select(OutboxRow).where(OutboxRow.kind == kind).order_by(OutboxRow.id)  # type: ignore[arg-type]
    if status is not None:
        query = query.where(OutboxRow.status == status)
    with Session(store.engine, expire_on_commit=False) as session:
        return list(session.exec(query).all())


def deliver_outbox(store: Store, connector: CrmConnector, report: ConflictReport) -> None:
    """Send every pending flag, resolution and auto-assignment (idempotently)."""
    _deliver_flags(store, connector, report)
    _deliver_resolutions(store, connector, report)
    _deliver_assignments(store, connector, report)
    note_assignments(store, connector)  # the same audit note as an approved move


def _deliver_flags(store: Store, connector: CrmConnector, report: ConflictReport) -> None:
    pending = _rows(store, CONFLICT_FLAG, "pending")
    if not pending:
        return
    found = {
        a.external_key: a.id
        for a in connector.fetch_activities(sorted({r.payload["account_id"] for r in pending}))
        if a.external_key
    }
    to_send = [row for row in pending if row.external_key not in found]
    reconciled = [(row.id, found[row.external_key]) for row in pending if row.external_key in found]
    _mark_sent_many(store, reconciled)  # type: ignore[arg-type]
    report.reconciled += len(reconciled)
    requests = [
        ActivityRequest(
            account_id=row.payload["account_id"],
            subject=row.payload["subject"],
            body=row.payload["body"],
            kind="task",
            owner_id=row.payload.get("owner_id"),
            external_key=row.external_key,
        )
        for row in to_send
    ]
    results = connector.apply_activities(requests) if requests else []
    sent = [(row.id, result.created_id) for row, result in zip(to_send, results, strict=True) if result.ok]
    _mark_sent_many(store, sent)  # type: ignore[arg-type]
    report.flagged += len(sent)
    for row, result in zip(to_send, results, strict=True):
        if not result.ok:
            store.outbox.mark_failed(row.id, f"{result.error_code}: {result.message}", final=not result.retriable)  # type: ignore[arg-type]
            report.failures.append(f"flag {row.external_key}: {result.error_code} {result.message}")


def _deliver_resolutions(store: Store, connector: CrmConnector, report: ConflictReport) -> None:
    pending = _rows(store, CONFLICT_RESOLVE, "pending")
    if not pending:
        return
    flags = {row.external_key: row for row in _rows(store, CONFLICT_FLAG)}
    sendable = [(row, flags.get(row.payload["flag_key"])) for row in pending]
    ids = [flag.crm_id for _, flag in sendable if flag is not None and flag.crm_id]
    results = {r.record_id: r for r in connector.complete_activities(ids)} if ids else {}
    for row, flag in sendable:
        result = results.get(flag.crm_id) if flag is not None and flag.crm_id else None
        if flag is None or not flag.crm_id or (result is not None and result.ok):
            store.outbox.mark_sent(row.id, flag.crm_id if flag else None)  # type: ignore[arg-type]
            report.resolved += 1
        else:
            message = result.message if result else "no result"
            store.outbox.mark_failed(row.id, message or "", final=not (result and result.retriable))  # type: ignore[arg-type]
            report.failures.append(f"resolve {row.payload['flag_key']}: {message}")


def _deliver_assignments(store: Store, connector: CrmConnector, report: ConflictReport) -> None:
    pending = _rows(store, AUTO_ASSIGN, "pending")
    if not pending:
        return
    changes = [OwnerChange(r.payload["account_id"], r.payload["new_owner_id"], expect_unowned=True) for r in pending]
    for row, result in zip(pending, connector.apply_owner_changes(changes), strict=True):
        if result.error_code == "OWNER_SET":  # a human assigned it first: nothing left to do
            store.outbox.mark_failed(row.id, f"{result.error_code}: {result.message}", final=True)  # type: ignore[arg-type]
            report.skipped_assignments.append(f"{row.payload['account_id']}: {result.message}")
            continue
        if not result.ok:
            store.outbox.mark_failed(row.id, f"{result.error_code}: {result.message}", final=not result.retriable)  # type: ignore[arg-type]
            report.failures.append(f"assign {row.payload['account_id']}: {result.error_code} {result.message}")
            continue
        _record_assignment(store, connector.crm, row)
        report.auto_assigned += 1


def _record_assignment(store: Store, crm: str, row: OutboxRow) -> None:
    """Audit entry, local owner and outbox status in one transaction: none without the others."""
    payload = row.payload
    entry = HistoryEntry(
        crm=crm,
        account_id=payload["account_id"],
        old_owner_id=None,
        new_owner_id=payload["new_owner_id"],
        reason=payload["reason"],
        rule=payload["rule"],
        approver="rules:auto_assign",
        source=SOURCE_AUTO_ASSIGN,
        crm_result="ok",
    )
    accounts: sa.Table = AccountRow.__table__  # type: ignore[attr-defined]
    outbox: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
    with store.transaction() as conn:
        store.history.append([entry], conn)
        conn.execute(
            sa.update(accounts)
            .where(accounts.c.crm == crm, accounts.c.id == payload["account_id"])
            .values(owner_id=payload["new_owner_id"])
        )
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == row.id)
            .values(status="sent", sent_at=utc_now(), attempts=outbox.c.attempts + 1)
        )


def check_inbound(
    store: Store, connector: CrmConnector, rules_path: Path, changed_ids: Iterable[str],
    *, max_flags: int | None = None,
) -> ConflictReport | None:
    """The inbound check after a sync: None when there is no rules file to check against.

    More than ``max_flags`` (default: the TERRITORY_MAX_FLAGS setting) new tasks are not
    written (the report says ``capped``): a rules change or a bulk import should be
    previewed with ``territory check --dry-run`` first.

    Raises:
        rules.RulesFileError: the rules file is invalid (or names owners that were not synced).
    """
    if not rules_path.exists():
        return None
    reps, _ = load_reps(store, connector.crm)
    rule_config = rules.load_rules(rules_path, known_reps={rep.id for rep in reps} or None)
    if max_flags is None:
        max_flags = load_settings().territory_max_flags
    return detect_conflicts(store, connector, rule_config, changed_ids=list(changed_ids), max_flags=max_flags)
