"""`territory market push`: create the prospects a scenario placed as CRM accounts, once.

A scenario planned with ``--include-prospects`` keeps its prospect placements apart from its
moves. Pushing it creates each placed prospect as an account (Salesforce) or company
(HubSpot) owned by its planned rep, then writes an audit note naming the market source.

Exactly once: every create is an outbox row whose key (from CRM, source and prospect key,
not the scenario, so two scenarios placing one prospect never make two accounts) the
connector writes as a marker on the record. The attempt is counted before sending, and a
row attempted before is first looked up in the CRM by that marker, so a lost answer, a
dropped connection or a crash never creates a second account. Prospects that meanwhile
match a CRM account, left their source or whose planned rep is gone are skipped, with why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from territory.connector.market import NewAccount
from territory.connector.records import ActivityRequest
from territory.sync import proposal_tasks as outbox
from territory.sync.book import load_reps
from territory.sync.market import MarketStore
from territory.sync.store import Store

MARKET_ACCOUNT = "market_account"
MARKET_NOTE = "market_note"
DEFAULT_MAX = 200


class PushError(ValueError):
    """The scenario cannot be pushed (unknown, no placements, over the cap)."""


@dataclass
class PushItem:
    """One placed prospect and what becomes of it."""

    source: str
    prospect_key: str
    name: str
    owner_id: str
    owner_name: str
    territory_id: str | None
    potential: float
    request: NewAccount | None = None
    skipped: str | None = None  # why it is not created
    account_id: str | None = None  # the CRM id once created


@dataclass
class PushReport:
    """What one push did or, on a dry run, would do (``--json``)."""

    crm: str
    scenario: str
    dry_run: bool
    placed: int = 0
    to_create: int = 0
    created: int = 0
    already_created: int = 0
    audit_notes: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    api_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def account_key(crm: str, source: str, prospect_key: str) -> str:
    """The idempotency key of one prospect's account (fits the CRMs' text fields)."""
    return "mkt-" + hashlib.sha1(f"{crm}|{source}|{prospect_key}".encode()).hexdigest()[:24]


def plan_push(store: Store, crm: str, scenario: str) -> list[PushItem]:
    """The scenario's placements with their requests, or why each one is skipped."""
    if store.scenarios.get(scenario) is None:
        known = ", ".join(store.scenarios.names()) or "none saved yet"
        raise PushError(f"no scenario {scenario!r} in the store (saved: {known})")
    placements = store.scenarios.placements(scenario)
    if not placements:
        raise PushError(f"scenario {scenario!r} placed no prospects: plan one with "
                        f"`territory plan --include-prospects --scenario NAME` after `territory market import`")
    market = MarketStore(store)
    sources = {s["name"]: s for s in market.sources()}
    prospects = {(p["source"], p["key"]): p for p in market.prospects()}
    reps, _ = load_reps(store, crm)
    names = {r.id: r.name for r in reps}
    active = {r.id for r in reps if r.active}
    sent = _sent_ids(store, [account_key(crm, p.source, p.prospect_key) for p in placements])
    items = []
    for placement in placements:
        item = PushItem(placement.source, placement.prospect_key, placement.name, placement.to_owner_id,
                        names.get(placement.to_owner_id, placement.to_owner_id), placement.territory_id,
                        placement.potential)
        row = prospects.get((placement.source, placement.prospect_key))
        key = account_key(crm, placement.source, placement.prospect_key)
        if key in sent:
            item.account_id, item.skipped = sent[key], "already created"
        elif row is None:
            item.skipped = f"no longer in market source {placement.source!r} (re-imported without it)"
        elif row["account_id"]:
            item.skipped = f"now matches CRM account {row['account_id']}"
        elif placement.to_owner_id not in active:
            item.skipped = f"planned rep {item.owner_name} is inactive or unknown: plan again"
        else:
            item.request = _request(key, row, placement.to_owner_id, scenario, sources.get(placement.source, {}))
        items.append(item)
    return items


def _request(key: str, row: dict[str, Any], owner_id: str, scenario: str, source: dict[str, Any]) -> NewAccount:
    listed = f"; listed industry: {row['industry']}" if row.get("industry") else ""
    description = (f"Prospect from market source {row['source']!r} (file {source.get('file_name', '?')}), "
                   f"created by territory-agent for scenario {scenario!r}{listed}.")
    return NewAccount(key=key, name=row["name"], owner_id=owner_id, description=description, domain=row["domain"],
                      street=row["street"], postal_code=row["postal_code"], city=row["city"], country=row["country"],
                      industry=row["industry"], employees=row["employees"], annual_revenue=row["annual_revenue"],
                      phone=row["phone"])


def _sent_ids(store: Store, keys: list[str]) -> dict[str, str]:
    """Outbox key -> CRM id of the account creates already sent."""
    import sqlalchemy as sa

    table = outbox.OUTBOX
    found: dict[str, str] = {}
    with store.engine.connect() as conn:
        for start in range(0, len(keys), 500):
            query = sa.select(table.c.external_key, table.c.crm_id).where(
                table.c.kind == MARKET_ACCOUNT, table.c.status == "sent", table.c.external_key.in_(keys[start:start + 500]))
            found.update({r.external_key: r.crm_id for r in conn.execute(query)})
    return found


def push(store: Store, connector: Any, scenario: str, *, dry_run: bool = False, cap: int | None = DEFAULT_MAX) -> PushReport:
    """Create the scenario's placed prospects in the CRM (see the module docstring).

    ``cap``: refuse (nothing written) when more accounts than this would be created; None
    lifts it. Raises :class:`PushError` for an unknown scenario, no placements or the cap.
    """
    items = plan_push(store, connector.crm, scenario)
    todo = [i for i in items if i.request is not None]
    report = PushReport(connector.crm, scenario, dry_run, placed=len(items), to_create=len(todo),
                        already_created=sum(1 for i in items if i.skipped == "already created"))
    report.skipped = [{"prospect_key": i.prospect_key, "name": i.name, "reason": i.skipped}
                      for i in items if i.skipped and i.skipped != "already created"]
    if cap is not None and len(todo) > cap:
        raise PushError(f"scenario {scenario!r} would create {len(todo)} accounts, more than the cap of {cap}: "
                        f"nothing was created. Check the dry run, then pass --max {len(todo)} (or --yes)")
    if not dry_run and todo:
        _create(store, connector, todo, report)
    _write_notes(store, connector, [i for i in items if i.account_id], scenario, dry_run, report)
    report.accounts = [{"source": i.source, "prospect_key": i.prospect_key, "name": i.name, "owner_id": i.owner_id,
                        "owner": i.owner_name, "territory": i.territory_id, "potential": i.potential,
                        "account_id": i.account_id} for i in todo]
    report.api_calls = connector.api_calls
    return report


def _create(store: Store, connector: Any, todo: list[PushItem], report: PushReport) -> None:
    requests = {i.request.key: i.request for i in todo if i.request is not None}
    outbox.enqueue(store, MARKET_ACCOUNT, [(key, {"name": r.name, "owner_id": r.owner_id}) for key, r in requests.items()])
    rows = outbox.pending(store, MARKET_ACCOUNT, list(requests))
    results = outbox.deliver_once(store, rows, [requests[r["external_key"]] for r in rows],
                                  connector.find_created_accounts, connector.create_accounts)
    market = MarketStore(store)
    for item in todo:
        assert item.request is not None
        result = results.get(item.request.key)
        if result is not None and result.ok:
            item.account_id = result.created_id
            report.created += 1
            market.link_created(item.source, item.prospect_key, str(item.account_id), connector.crm)
        else:
            why = f"{result.error_code}: {result.message}" if result is not None else "not sent (see the outbox)"
            report.failed.append(f"{item.name} ({item.prospect_key}): {why}")


def _write_notes(store: Store, connector: Any, created: list[PushItem], scenario: str, dry_run: bool,
                 report: PushReport) -> None:
    """The audit note on each created account (also for accounts whose note a crash left unwritten)."""
    if dry_run or not created:
        return
    items = {f"note:{account_key(connector.crm, i.source, i.prospect_key)}": i for i in created}
    outbox.enqueue(store, MARKET_NOTE, [(key, {"account_id": i.account_id}) for key, i in items.items()])
    rows = outbox.pending(store, MARKET_NOTE, list(items))
    requests = [_note(items[r["external_key"]], r["external_key"], scenario) for r in rows]
    results = outbox.deliver_activities(store, connector, rows, requests)
    report.audit_notes = sum(1 for r in results.values() if r.ok)
    report.failed.extend(f"audit note on {items[key].name}: {r.error_code}: {r.message}"
                         for key, r in results.items() if not r.ok)


def _note(item: PushItem, key: str, scenario: str) -> ActivityRequest:
    body = "\n".join([
        f"Market source: {item.source} (prospect {item.prospect_key})",
        f"Owner: {item.owner_name}, as planned in scenario {scenario!r}",
        f"Territory: {item.territory_id or 'none'}; estimated potential {item.potential:,.0f}",
        "Created by territory-agent (`territory market push`).",
    ])
    return ActivityRequest(account_id=str(item.account_id), subject=f"Created from market source {item.source!r}",
                           body=body, kind="note", owner_id=item.owner_id, completed=True, external_key=key)
