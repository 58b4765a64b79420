"""Drive a running emulator: read and edit records, inject faults, revoke tokens.

Two faces over the same operations:

- :class:`EmulatorControl`, for in-process use (tests, ``bench/``);
- HTTP routes under ``/_emulator/`` (unauthenticated, answered only to loopback peers, never
  counted as API calls and never hit by injected faults), for the CLI and other processes:

  ======  ====================================  ==============================================
  GET     /_emulator/health                      ``{"ok": true, "flavours": [...]}``
  GET     /_emulator/state                       record counts, API call counters, faults
  GET     /_emulator/records/{kind}              records (``?include_deleted=false``,
                                                 ``?since=ISO``, ``?offset=``, ``?limit=``)
  GET     /_emulator/records/{kind}/{id}         one record (id: n, Salesforce or HubSpot id)
  POST    /_emulator/records/{kind}/{id}         change fields "as a human would" (bumps
                                                 ``modified_at``)
  POST    /_emulator/records/{kind}              create a record
  DELETE  /_emulator/records/{kind}/{id}         soft delete / archive (owners: deactivate)
  POST    /_emulator/ui/{crm}/{object}/{id}   edit as a user in the CRM's UI: ``{"as": user,
                                                 "set": {field: value}}`` (:mod:`emulator.ui`)
  GET     /_emulator/users                       every user (ids in both CRMs, role, manager)
  GET     /_emulator/users/{ref}                 one user by n, Salesforce/HubSpot id or email
  POST    /_emulator/users/provision             create the integration user and admin (once)
  POST    /_emulator/mutate                      ``{"fraction": 0.01, "seed": 1}``
  GET     /_emulator/faults                      the current fault plan
  POST    /_emulator/faults                      ``{"rate": 0.1, "script": [...], "kinds":
                                                 [...], "seed": 0}``
  POST    /_emulator/expire-token                revoke (``{"token": ...}`` or all): 401 next
  POST    /_emulator/tokens                      add a token (``{"token": ...}`` or generated)
  ======  ====================================  ==============================================

``kind`` is ``owners``, ``accounts``, ``opportunities``, ``tasks`` or ``notes``; records are
JSON in the neutral vocabulary of :mod:`emulator.records_view`.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from territory.emulator import users
from territory.emulator.hubspot.writes import note_untracked_edit, type_of_kind
from territory.emulator.mutate import mutate_state
from territory.emulator.records_view import (
    RecordProblem,
    find,
    iso,
    parse_changes,
    state_kind,
    view,
)
from territory.emulator.salesforce.records import save
from territory.emulator.salesforce_api import SalesforceApi
from territory.emulator.server import EmulatorServer, FaultPlan, Request, Response, Router
from territory.emulator.state import EmuAccount, EmuActivity, EmuOpportunity, EmuOwner, record_kind
from territory.emulator.ui import UiEditRefused, ui_edit

CONTROL_PREFIX = "/_emulator"


class EmulatorControl:
    """In-process control of an emulator's state (and, when given, its server)."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.state = server.state

    # reading -----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Record counts, API call counters, token count and the fault plan."""
        state = self.state
        with state.lock:
            accounts = list(state.accounts.values())
            opps = list(state.opportunities.values())
            activities = list(state.activities.values())
            counts = {
                "owners": {"total": len(state.owners),
                           "active": sum(1 for o in state.owners.values() if o.is_active)},
                "accounts": {"total": len(accounts), "live": sum(1 for a in accounts if not a.deleted),
                             "unowned": sum(1 for a in accounts if a.owner_n is None and not a.deleted)},
                "opportunities": {"total": len(opps),
                                  "open": sum(1 for o in opps if not o.deleted and not o.is_closed)},
                "tasks": {"total": sum(1 for a in activities if a.kind == "task")},
                "notes": {"total": sum(1 for a in activities if a.kind == "note")},
            }
            return {
                "now": iso(state.now()), "counts": counts, "api_calls": dict(state.api_calls),
                "requests": len(self.server.request_log), "tokens": len(self.server.tokens),
                "faults": self.faults(), "flavours": [f.name for f in self.server.flavours],
            }

    def records(
        self, kind: str, *, include_deleted: bool = True, since: datetime | None = None,
        offset: int = 0, limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Records of ``kind`` ordered by ``n``, as neutral-vocabulary dicts."""
        skind = state_kind(kind)
        with self.state.lock:
            rows = [r for _, r in sorted(self.state.table(skind).items())
                    if (skind not in ("task", "note") or r.kind == skind)
                    and (include_deleted or not getattr(r, "deleted", False))
                    and (since is None or r.modified_at >= since)]
            rows = rows[offset: None if limit is None else offset + limit]
            return [view(skind, r) for r in rows]

    def record(self, kind: str, ref: str | int) -> dict[str, Any]:
        """One record by n, Salesforce id or HubSpot id."""
        skind = state_kind(kind)
        with self.state.lock:
            return view(skind, find(self.state, skind, ref))

    # changing ----------------------------------------------------------------------------
    def update(self, kind: str, ref: str | int, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply ``changes`` (neutral vocabulary) like a human edit: ``modified_at`` moves on;
        Salesforce stamps and history name the admin, HubSpot history says ``CRM_UI``."""
        skind = state_kind(kind)
        with self.state.lock:
            record = find(self.state, skind, ref)
            parsed = parse_changes(self.state, skind, changes)
            hs_type = type_of_kind(record_kind(record))
            before = hs_type.render(record) if hs_type is not None else {}
            sf_api = next((f for f in self.server.flavours if isinstance(f, SalesforceApi)), None)
            sobject = next((d for d in sf_api.defs.values() if d.kind == skind), None) if sf_api else None
            if sobject is not None and sf_api is not None:  # audit stamps and history rows, as the admin
                save(self.state, sf_api.defs, sobject, record, parsed, self.state.admin_n or 0)
            else:
                self.state.touch(record, **parsed)
            if hs_type is not None:
                note_untracked_edit(self.state, hs_type, record, before)
            return view(skind, record)

    def create(self, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a record of ``kind`` from neutral-vocabulary ``fields``."""
        skind = state_kind(kind)
        with self.state.lock:
            values = parse_changes(self.state, skind, fields)
            stamp = self.state.tick()
            record = _new_record(skind, self.state.next_n(), values, stamp)
            self.state.table(skind)[record.n] = record
            return view(skind, record)

    def ui_edit(self, crm: str, obj: str, record_id: str, as_user: str | int,
                changes: dict[str, Any]) -> dict[str, Any]:
        """Save ``changes`` (CRM field names) as ``as_user`` would in the CRM's UI
        (see :mod:`emulator.ui`); raises :class:`~territory.emulator.ui.UiEditRefused`."""
        return ui_edit(self.server, crm, obj, record_id, as_user, changes)

    # users -------------------------------------------------------------------------------
    def provision_users(self) -> dict[str, Any]:
        """Create the integration user and the admin once (see :mod:`emulator.users`)."""
        return users.provision_users(self.state)

    def users(self) -> list[dict[str, Any]]:
        """Every user with its ids in both CRMs, role, manager and teams."""
        return users.list_users(self.state)

    def user(self, ref: str | int) -> dict[str, Any]:
        """One user by n, Salesforce id, HubSpot owner or user id, or email."""
        with self.state.lock:
            owner = users.find_user(self.state, ref)
            if owner is None:
                raise RecordProblem(404, f"no user {ref!r}")
            return users.user_view(self.state, owner)

    def delete(self, kind: str, ref: str | int) -> dict[str, Any]:
        """Soft-delete (recycle bin / archive); owners are deactivated. Idempotent."""
        skind = state_kind(kind)
        with self.state.lock:
            record = find(self.state, skind, ref)
            if skind == "owner":
                if record.is_active:
                    self.state.touch(record, is_active=False)
            elif not record.deleted:
                self.state.delete(record)
            return view(skind, record)

    def mutate(self, fraction: float = 0.01, seed: int = 1) -> dict[str, Any]:
        """Change ~``fraction`` of accounts and opportunities (see :mod:`emulator.mutate`)."""
        try:
            return mutate_state(self.state, fraction=fraction, seed=seed).as_dict()
        except ValueError as exc:
            raise RecordProblem(400, str(exc)) from None

    # faults and tokens -------------------------------------------------------------------
    def faults(self) -> dict[str, Any]:
        """The current fault plan: rate, kinds, scripted faults left, injected counts."""
        plan = self.server.faults
        return {"rate": plan.rate, "kinds": list(plan.kinds), "script": list(plan.script),
                "seed": plan.seed, "injected": dict(plan.injected)}

    def set_faults(
        self, rate: float | None = None, script: list[str] | None = None,
        kinds: list[str] | None = None, seed: int | None = None,
    ) -> dict[str, Any]:
        """Replace the fault plan; omitted arguments keep their current value."""
        old = self.server.faults
        if rate is not None and not 0 <= rate <= 1:
            raise RecordProblem(400, "rate must be between 0 and 1")
        for name, values in (("script", script), ("kinds", kinds)):
            if values is not None and not all(isinstance(v, str) and v for v in values):
                raise RecordProblem(400, f"{name} must be a list of fault kinds such as {', '.join(old.kinds)}")
        if kinds is not None and not kinds:
            raise RecordProblem(400, "kinds must not be empty")
        self.server.faults = FaultPlan(
            rate=old.rate if rate is None else float(rate),
            kinds=old.kinds if kinds is None else tuple(kinds),
            seed=old.seed if seed is None else int(seed),
            script=list(old.script if script is None else script),
            injected=dict(old.injected),
        )
        return self.faults()

    def expire_tokens(self, token: str | None = None) -> int:
        """Revoke ``token`` (or every token): API calls then get the flavour's 401."""
        tokens = self.server.tokens  # the set the server checks; change it in place
        if token is None:
            revoked = len(tokens)
            tokens.clear()
            return revoked
        if token in tokens:
            tokens.discard(token)
            return 1
        return 0

    def add_token(self, token: str | None = None) -> str:
        """Accept another bearer token (generated when not given) and return it."""
        value = token or f"emu-{secrets.token_urlsafe(24)}"
        self.server.tokens.add(value)
        return value


def _new_record(kind: str, n: int, values: dict[str, Any], stamp: datetime) -> Any:
    stamps = {"created_at": stamp, "modified_at": stamp}
    if kind == "owner":
        missing = [f for f in ("first_name", "last_name", "email") if not values.get(f)]
        if missing:
            raise RecordProblem(400, f"an owner needs {', '.join(missing)}")
        return EmuOwner(n=n, **values, **stamps)
    if kind == "account":
        if not values.get("name"):
            raise RecordProblem(400, "an account needs a name")
        return EmuAccount(n=n, **{"owner_n": None, **values}, **stamps)
    if kind == "opportunity":
        if not values.get("name"):
            raise RecordProblem(400, "an opportunity needs a name")
        defaults = {"account_n": None, "owner_n": None, "amount": None, "stage": "Prospecting",
                    "close_date": stamp.date() + timedelta(days=30)}
        record = EmuOpportunity(n=n, **{**defaults, **values}, **stamps)
        record.is_closed = values.get("is_closed", str(record.stage).startswith("Closed"))
        return record
    if not values.get("subject"):
        raise RecordProblem(400, f"a {kind} needs a subject")
    defaults = {"account_n": None, "owner_n": None, "body": ""}
    return EmuActivity(n=n, kind=kind, **{**defaults, **values}, **stamps)


class ControlApi:
    """Registers the ``/_emulator/`` routes for an :class:`EmulatorControl`."""

    def __init__(self, control: EmulatorControl) -> None:
        self.control = control

    def register(self, router: Router) -> None:
        """Add the control routes to ``router`` (after the API flavours' routes)."""
        c, p = self.control, CONTROL_PREFIX
        rec = p + r"/records/(?P<kind>[a-z]+)"
        one = rec + r"/(?P<ref>[A-Za-z0-9_-]+)"
        routes: list[tuple[str, str, Callable[[Request], Any]]] = [
            ("GET", p + r"/health/?", lambda r: {"ok": True, "flavours": [f.name for f in c.server.flavours]}),
            ("GET", p + r"/state/?", lambda r: c.status()),
            ("GET", rec, self._list),
            ("GET", one, lambda r: c.record(r.match["kind"], r.match["ref"])),
            ("POST", one, lambda r: c.update(r.match["kind"], r.match["ref"], _body(r))),
            ("POST", rec, lambda r: Response(201, c.create(r.match["kind"], _body(r)))),
            ("DELETE", one, lambda r: c.delete(r.match["kind"], r.match["ref"])),
            ("POST", p + r"/ui/(?P<crm>[a-z]+)/(?P<obj>[A-Za-z0-9_]+)/(?P<ref>[A-Za-z0-9]+)/?", self._ui_edit),
            ("GET", p + r"/users/?", lambda r: c.users()),
            ("POST", p + r"/users/provision/?", lambda r: c.provision_users()),
            ("GET", p + r"/users/(?P<ref>[^/]+)", lambda r: c.user(unquote(r.match["ref"]))),
            ("POST", p + r"/mutate/?", self._mutate),
            ("GET", p + r"/faults/?", lambda r: c.faults()),
            ("POST", p + r"/faults/?", self._faults),
            ("POST", p + r"/expire-token/?", lambda r: {"revoked": c.expire_tokens(_body(r).get("token"))}),
            ("POST", p + r"/tokens/?", lambda r: Response(201, {"token": c.add_token(_body(r).get("token"))})),
        ]
        for method, pattern, handler in routes:
            router.add(method, pattern, _guarded(handler))

    def _list(self, req: Request) -> Any:
        since = req.arg("since")
        try:
            moment = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None
            offset = int(req.arg("offset", "0") or 0)
            limit = int(req.arg("limit")) if req.arg("limit") else None  # type: ignore[arg-type]
        except ValueError as exc:
            raise RecordProblem(400, f"bad query parameter: {exc}") from None
        include_deleted = (req.arg("include_deleted", "true") or "true").lower() != "false"
        return self.control.records(req.match["kind"], include_deleted=include_deleted,  # type: ignore[index]
                                    since=moment, offset=offset, limit=limit)

    def _ui_edit(self, req: Request) -> Any:
        body, m = _body(req), req.match or {}
        if "as" not in body or not isinstance(body.get("set"), dict):
            raise RecordProblem(400, 'send {"as": "<user>", "set": {"<field>": value}}')
        try:
            return self.control.ui_edit(m["crm"], m["obj"], m["ref"], body["as"], body["set"])
        except UiEditRefused as exc:
            return Response(exc.status, exc.body)

    def _mutate(self, req: Request) -> Any:
        body = _body(req)
        try:
            fraction, seed = float(body.get("fraction", 0.01)), int(body.get("seed", 1))
        except (TypeError, ValueError):
            raise RecordProblem(400, 'send {"fraction": 0.01, "seed": 1}') from None
        return self.control.mutate(fraction=fraction, seed=seed)

    def _faults(self, req: Request) -> Any:
        body = _body(req)
        rate = body.get("rate")
        if rate is not None and not isinstance(rate, (int, float)):
            raise RecordProblem(400, "rate must be a number between 0 and 1")
        return self.control.set_faults(rate=rate, script=body.get("script"), kinds=body.get("kinds"),
                                       seed=body.get("seed"))


def install_control(server: EmulatorServer) -> EmulatorControl:
    """Add the ``/_emulator/`` routes to ``server`` and return the in-process controller."""
    control = EmulatorControl(server)
    ControlApi(control).register(server.router)
    return control


def _body(req: Request) -> dict[str, Any]:
    try:
        body = req.json()
    except ValueError:
        raise RecordProblem(400, "the request body is not valid JSON") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise RecordProblem(400, "send a JSON object")
    return body


def _is_loopback(client: str) -> bool:
    if not client:
        return True  # built in-process
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def _guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Response]:
    def run(req: Request) -> Response:
        if not _is_loopback(req.client):
            return Response(403, {"error": "the emulator control API answers only on loopback"})
        try:
            result = handler(req)
        except RecordProblem as exc:
            return Response(exc.status, {"error": str(exc)})
        return result if isinstance(result, Response) else Response(200, result)

    return run


__all__ = ["CONTROL_PREFIX", "ControlApi", "EmulatorControl", "install_control"]
