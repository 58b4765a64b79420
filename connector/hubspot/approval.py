"""Proposals on HubSpot (every tier, no custom objects): company properties in one group.

A company carries at most one open proposal: ``tr_proposal_key``, ``tr_status`` (an
enumeration), ``tr_proposed_owner``, ``tr_from_owner``, ``tr_reason``, ``tr_scenario``,
``tr_proposed_at``, plus ``tr_decided_by`` and ``tr_agent_note`` the agent writes back.
Managers decide by setting ``tr_status`` in the UI; ``propertiesWithHistory`` says who
(``sourceType`` ``CRM_UI`` with ``updatedByUserId``, mapped to owners by ``userId``).
Every write is a batch of at most 100 inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from territory.connector.errors import CrmError
from territory.connector.hubspot.client import HubSpotClient
from territory.connector.hubspot.mapping import parse_time
from territory.connector.hubspot.writes import BATCH, HubSpotWriter, _chunks
from territory.connector.proposals import (
    STATUSES,
    ChildMove,
    ChildMoveResult,
    DecisionEvent,
    DecisionPage,
    InstallStep,
    ProposalRecord,
    ProposalRef,
    ProposalUpdate,
)
from territory.connector.records import WriteResult

GROUP = "territory_mgmt"
STATUS = "tr_status"
KEY = "tr_proposal_key"
_TEXT = {"type": "string", "fieldType": "text"}
_AREA = {"type": "string", "fieldType": "textarea"}
PROPERTIES: dict[str, tuple[str, dict[str, Any]]] = {
    KEY: ("Territory proposal key", _TEXT),
    STATUS: ("Territory proposal status", {"type": "enumeration", "fieldType": "select", "options": [
        {"label": s, "value": s.lower(), "displayOrder": i, "hidden": False} for i, s in enumerate(STATUSES)]}),
    "tr_proposed_owner": ("Proposed owner (owner id)", _TEXT),
    "tr_from_owner": ("Owner when proposed (owner id)", _TEXT),
    "tr_reason": ("Reason for the proposed move", _AREA),
    "tr_scenario": ("Territory scenario", _TEXT),
    "tr_proposed_at": ("Proposed at", {"type": "datetime", "fieldType": "date"}),
    "tr_decided_by": ("Decided by (owner id)", _TEXT),
    "tr_agent_note": ("Note from territory-agent", _AREA),
}
_BY_VALUE = {s.lower(): s for s in STATUSES}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class HubSpotApproval:
    """Install, publish, decisions, status write-back and child moves on one portal."""

    def __init__(self, client: HubSpotClient, writer: HubSpotWriter) -> None:
        self.client = client
        self.writer = writer
        self._owner_of_user: dict[str, str] | None = None

    # install -----------------------------------------------------------------------------
    def _exists(self, fetch: Any) -> bool:
        try:
            self.client.call(fetch)
        except CrmError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def _group_exists(self) -> bool:
        groups = self.client.api("properties.groups")
        return self._exists(lambda kw: groups.get_by_name("companies", GROUP, **kw))

    def _property_exists(self, name: str) -> bool:
        core = self.client.api("properties.core")
        return self._exists(lambda kw: core.get_by_name("companies", name, **kw))

    def install(self, *, dry_run: bool) -> list[InstallStep]:
        steps: list[InstallStep] = []
        groups = self.client.api("properties.groups")
        core = self.client.api("properties.core")
        if self._group_exists():
            steps.append(InstallStep(f"property group {GROUP}", "exists"))
        else:
            steps.append(InstallStep(f"property group {GROUP}", "create", "on companies", not dry_run))
            if not dry_run:
                body = {"name": GROUP, "label": "Territory", "displayOrder": -1}
                self.client.call(lambda kw: groups.create("companies", body, **kw))
        for name, (label, spec) in PROPERTIES.items():
            if self._property_exists(name):
                steps.append(InstallStep(f"companies.{name}", "exists"))
                continue
            steps.append(InstallStep(f"companies.{name}", "create", spec["type"], not dry_run))
            if not dry_run:
                body = {"name": name, "label": label, "groupName": GROUP, "formField": False, **spec}
                self.client.call(lambda kw: core.create("companies", body, **kw))
        return steps

    def uninstall(self, *, dry_run: bool) -> list[InstallStep]:
        steps: list[InstallStep] = []
        core = self.client.api("properties.core")
        for name in PROPERTIES:
            if not self._property_exists(name):
                steps.append(InstallStep(f"companies.{name}", "absent"))
                continue
            steps.append(InstallStep(f"companies.{name}", "delete", "", not dry_run))
            if not dry_run:
                self.client.call(lambda kw: core.archive("companies", name, **kw))
        if self._group_exists():
            steps.append(InstallStep(f"property group {GROUP}", "delete", "", not dry_run))
            if not dry_run:
                groups = self.client.api("properties.groups")
                self.client.call(lambda kw: groups.archive("companies", GROUP, **kw))
        else:
            steps.append(InstallStep(f"property group {GROUP}", "absent"))
        return steps

    def check(self) -> list[tuple[str, bool, str]]:
        fix = "run `territory install`"
        checks = [("property group", self._group_exists(), GROUP)]
        missing = [name for name in PROPERTIES if not self._property_exists(name)]
        checks.append(("proposal properties", not missing,
                       "all present" if not missing else f"missing {', '.join(missing)} (someone deleted them): {fix}"))
        return [(n, ok, d if ok else (d if "missing" in d else f"missing: {fix}")) for n, ok, d in checks]

    # proposals ---------------------------------------------------------------------------
    def publish(self, proposals: Sequence[ProposalRecord]) -> list[WriteResult]:
        inputs = [{"id": p.account_id, "properties": {
            KEY: p.key, STATUS: p.status.lower(), "tr_proposed_owner": p.to_owner_id,
            "tr_from_owner": p.from_owner_id or "", "tr_reason": p.reason, "tr_scenario": p.scenario,
            "tr_proposed_at": _iso(p.proposed_at), "tr_agent_note": "", "tr_decided_by": "",
        }} for p in proposals]
        results = self._update_companies(inputs)
        return [WriteResult(p.key, r.ok, created_id=p.account_id if r.ok else None, error_code=r.error_code,
                            message=r.message, retriable=r.retriable) for p, r in zip(proposals, results)]

    def update(self, updates: Sequence[ProposalUpdate]) -> list[WriteResult]:
        inputs = []
        for u in updates:
            props = {STATUS: u.status.lower()}
            if u.note is not None:
                props["tr_agent_note"] = u.note
            if u.decided_by is not None:
                props["tr_decided_by"] = u.decided_by
            inputs.append({"id": u.account_id, "properties": props})
        results = self._update_companies(inputs)
        return [WriteResult(u.key, r.ok, error_code=r.error_code, message=r.message, retriable=r.retriable)
                for u, r in zip(updates, results)]

    def _update_companies(self, inputs: list[dict[str, Any]]) -> list[WriteResult]:
        basic = self.client.api("companies.basic")
        out: dict[int, WriteResult] = {}
        indexed = list(enumerate(inputs))
        for chunk in _chunks(indexed, BATCH):
            out.update(self.writer._batch_write(
                "companies", "update", [item for _, item in chunk], [(i, item["id"]) for i, item in chunk],
                lambda item, kw: basic.update(item["id"], {"properties": item["properties"]}, **kw)))
        return [out[i] for i in range(len(inputs))]

    def count_open(self) -> int:
        search = self.client.api("companies.search")
        body = {"filterGroups": [{"filters": [{"propertyName": STATUS, "operator": "IN",
                                               "values": ["proposed", "approved"]}]}],
                "properties": [STATUS], "limit": 1}
        data = self.client.call(lambda kw: search.do_search(body, **kw)).data or {}
        return int(data.get("total") or 0)

    def fetch_decisions(self, refs: Sequence[ProposalRef]) -> DecisionPage:
        """Every status history entry on the proposals' companies since publication."""
        by_company = {r.account_id: r for r in refs}
        owner_of = self.owner_of_user()
        batch = self.client.api("companies.batch")
        events: list[DecisionEvent] = []
        for chunk in _chunks(list(by_company), BATCH):
            body = {"properties": [STATUS, KEY], "propertiesWithHistory": [STATUS, KEY],
                    "inputs": [{"id": x} for x in chunk]}
            data = self.client.call(lambda kw: batch.read(body, archived=False, **kw)).data or {}
            for obj in data.get("results") or []:
                ref = by_company.get(str(obj["id"]))
                if ref is None or (obj.get("properties") or {}).get(KEY) != ref.key:
                    continue
                history = obj.get("propertiesWithHistory") or {}
                since = _key_written_at(ref.key, history.get(KEY) or []) or ref.published_at
                for entry in history.get(STATUS) or []:
                    event = _event(ref, entry, owner_of, since)
                    if event is not None:
                        events.append(event)
        events.sort(key=lambda e: e.at)
        return DecisionPage(events, None)

    def owner_of_user(self) -> dict[str, str]:
        """HubSpot user id -> owner id (deactivated owners too)."""
        if self._owner_of_user is None:
            self._owner_of_user = {str(o["userId"]): str(o["id"]) for o in self.owners() if o.get("userId") is not None}
        return self._owner_of_user

    def owners(self) -> list[dict[str, Any]]:
        owners_api = self.client.api("owners")
        out: list[dict[str, Any]] = []
        for archived in (False, True):
            after: str | None = None
            while True:
                resp = self.client.call(lambda kw: owners_api.get_page(limit=500, after=after, archived=archived, **kw))
                out.extend(resp.data.get("results") or [])
                after = ((resp.data.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
        return out

    def user_names(self) -> dict[str, str]:
        return {str(o["id"]): " ".join(p for p in (o.get("firstName"), o.get("lastName")) if p) or str(o["id"])
                for o in self.owners()}

    def current_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        batch = self.client.api("companies.batch")
        out: dict[str, str | None] = {}
        for chunk in _chunks(list(dict.fromkeys(account_ids)), BATCH):
            body = {"properties": ["hubspot_owner_id"], "inputs": [{"id": x} for x in chunk]}
            data = self.client.call(lambda kw: batch.read(body, archived=False, **kw)).data or {}
            for obj in data.get("results") or []:
                out[str(obj["id"])] = (obj.get("properties") or {}).get("hubspot_owner_id") or None
        return out

    # children ----------------------------------------------------------------------------
    def move_children(self, moves: Sequence[ChildMove]) -> list[ChildMoveResult]:
        counts = {m.account_id: {"contacts": 0, "deals": 0} for m in moves}
        errors: dict[str, str] = {}
        for kind in ("contacts", "deals"):
            wanted = {m.account_id: m for m in moves if kind == "contacts" or m.include_opportunities}
            if not wanted:
                continue
            company_of = self.writer._associated(list(wanted), kind)
            inputs, owners = self._children_to_move(kind, company_of, wanted)
            basic = self.client.api(f"{kind}.basic")
            for chunk in _chunks(inputs, BATCH):
                keys = [(i, item["id"]) for i, item in enumerate(chunk)]
                results = self.writer._batch_write(
                    kind, "update", list(chunk), keys,
                    lambda item, kw: basic.update(item["id"], {"properties": item["properties"]}, **kw))
                for i, item in enumerate(chunk):
                    company = owners[item["id"]]
                    if results[i].ok:
                        counts[company][kind] += 1
                    else:
                        errors[company] = results[i].message or "child move failed"
        return [ChildMoveResult(m.account_id, m.account_id not in errors, counts[m.account_id]["contacts"],
                                counts[m.account_id]["deals"], errors.get(m.account_id)) for m in moves]

    def _children_to_move(self, kind: str, company_of: dict[str, str],
                          wanted: dict[str, ChildMove]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        batch = self.client.api(f"{kind}.batch")
        props = ["hubspot_owner_id"] + (["hs_is_closed"] if kind == "deals" else [])
        inputs: list[dict[str, Any]] = []
        company_by_child: dict[str, str] = {}
        for chunk in _chunks(list(company_of), BATCH):
            body = {"properties": props, "inputs": [{"id": x} for x in chunk]}
            data = self.client.call(lambda kw: batch.read(body, archived=False, **kw)).data or {}
            for obj in data.get("results") or []:
                child, p = str(obj["id"]), obj.get("properties") or {}
                move = wanted[company_of[child]]
                if p.get("hubspot_owner_id") != move.from_owner_id or str(p.get("hs_is_closed")).lower() == "true":
                    continue
                inputs.append({"id": child, "properties": {"hubspot_owner_id": move.to_owner_id}})
                company_by_child[child] = move.account_id
        return inputs, company_by_child


def _key_written_at(key: str, entries: Sequence[dict[str, Any]]) -> datetime | None:
    """When (by the CRM's clock) the company started carrying this proposal key: status
    entries before it belong to an older proposal of the same company."""
    since = None
    for entry in entries:  # newest first
        if str(entry.get("value") or "") != key:
            break
        since = parse_time(entry.get("timestamp")) or since
    return since


def _event(ref: ProposalRef, entry: dict[str, Any], owner_of: dict[str, str], since: datetime) -> DecisionEvent | None:
    at = parse_time(entry.get("timestamp"))
    value = _BY_VALUE.get(str(entry.get("value") or "").lower())
    if at is None or value is None or at < since:
        return None
    person = entry.get("sourceType") == "CRM_UI"
    user = entry.get("updatedByUserId")
    actor = owner_of.get(str(user)) if person and user is not None else None
    return DecisionEvent(ref.key, value, actor, at, by_person=person)
