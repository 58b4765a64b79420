"""The HubSpot CRM v3/v4 API subset the agent uses, served from :class:`CrmState`.

Faithful enough that the unmodified ``hubspot-api-client`` 12.0.0 works against it
(``HubSpot(access_token=..., host=server.http_url)``): objects list/get/create/update/archive,
batch read/update/create/archive (<=100 inputs), search (10,000-result cap, configurable
for tests), owners, v4 associations, private-app token info, HubSpot error bodies, and
rate-limit headers on every answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from territory.emulator._hubspot_batch import (
    BatchRoutes,
    error,
    flag,
    invalid,
)
from territory.emulator._hubspot_objects import (
    TYPES,
    HsType,
    IdIndex,
    PropertyError,
    render_object,
    render_owner,
    resolve_type,
)
from territory.emulator._hubspot_search import SearchError, run_search
from territory.emulator.hubspot import associations as links
from territory.emulator.hubspot.associations_api import AssociationRoutes
from territory.emulator.hubspot.properties_api import PropertiesApi
from territory.emulator.hubspot.writes import (
    changes_for,
    new_record,
    records_by_value,
    unique_property,
    with_custom_values,
)
from territory.emulator.server import ApiFlavour, Request, Response, Router
from territory.emulator.state import HUBSPOT_PORTAL_ID, CrmState
from territory.emulator.users import is_hubspot_owner

ALL_SCOPES = frozenset({
    "crm.objects.companies.read", "crm.objects.companies.write",
    "crm.objects.deals.read", "crm.objects.deals.write",
    "crm.objects.contacts.read", "crm.objects.contacts.write",  # notes and tasks
    "crm.objects.owners.read",
})
_SCOPE_OBJECT = {"companies": "companies", "deals": "deals", "notes": "contacts", "tasks": "contacts",
                 "contacts": "contacts"}
SEARCH_CAP = 10_000
_OBJ = r"/crm/v3/objects/(?P<type>[A-Za-z0-9_-]+)"



class HubSpotApi(BatchRoutes, AssociationRoutes, ApiFlavour):
    """Routes for ``/crm/...`` (and the private-app token-info call under ``/oauth``).

    Args:
        scopes: scopes granted to the token; None grants all. Mutable for tests.
        search_cap: results reachable through search paging (HubSpot: 10,000).
    """

    name = "hubspot"
    path_prefix = "/crm"
    extra_prefixes = ("/oauth/v2/private-apps",)

    def __init__(self, *, scopes: set[str] | None = None, search_cap: int = SEARCH_CAP) -> None:
        self.scopes = set(ALL_SCOPES) if scopes is None else set(scopes)
        self.search_cap = search_cap
        self._index = IdIndex()
        self._pending: dict[int, list[tuple[str, Any, set[int]]]] = {}  # associations of built records

    # wiring ------------------------------------------------------------------------------
    def register(self, router: Router) -> None:
        routes: list[tuple[str, str, Callable[..., Response], str | None]] = [
            ("GET", r"/crm/v3/owners/?", self._owners_list, "owners.read"),
            ("GET", r"/crm/v3/owners/(?P<id>[^/]+)", self._owner_get, "owners.read"),
            ("POST", _OBJ + r"/search", self._search, "read"),
            ("POST", _OBJ + r"/batch/read", self._batch_read, "read"),
            ("POST", _OBJ + r"/batch/update", self._batch_update, "write"),
            ("POST", _OBJ + r"/batch/create", self._batch_create, "write"),
            ("POST", _OBJ + r"/batch/archive", self._batch_archive, "write"),
            ("GET", _OBJ, self._list, "read"),
            ("POST", _OBJ, self._create, "write"),
            ("GET", _OBJ + r"/(?P<id>[^/]+)", self._get, "read"),
            ("PATCH", _OBJ + r"/(?P<id>[^/]+)", self._update, "write"),
            ("DELETE", _OBJ + r"/(?P<id>[^/]+)", self._archive, "write"),
            ("POST", _OBJ + r"/batch/upsert", self._batch_upsert, "write"),
            *self.association_routes(),
            ("POST", r"/oauth/v2/private-apps/get/access-token-info", self._token_info, None),
        ]
        for method, pattern, handler, scope in routes:
            router.add(method, pattern, self._guard(handler, scope))
        for method, pattern, handler in PropertiesApi(self._require_state()).routes():
            router.add(method, pattern, self._guard(handler, None))

    def _guard(self, handler: Callable[..., Response], scope: str | None) -> Callable[[Request], Response]:
        """Resolve the object type, check the scope, hold the lock, add rate-limit headers."""

        def run(req: Request) -> Response:
            state = self._require_state()
            t: HsType | None = None
            if req.match is not None and "type" in req.match.groupdict():
                t = resolve_type(req.match["type"])
                if t is None:
                    return error(404, "OBJECT_NOT_FOUND", f"Unable to infer object type from: {req.match['type']}")
            needed = None
            if scope == "owners.read":
                needed = "crm.objects.owners.read"
            elif scope is not None and t is not None:
                needed = f"crm.objects.{_SCOPE_OBJECT[t.name]}.{scope}"
            if needed and needed not in self.scopes:
                resp = self._missing_scope(needed)
            else:
                try:
                    with state.lock:
                        resp = handler(req, t) if t is not None else handler(req)
                except ValueError as exc:  # unparsable number, cursor or JSON body
                    resp = error(400, "VALIDATION_ERROR", f"Invalid input: {exc}")
            resp.headers.update(self._usage_headers())
            return resp

        return run

    def _require_state(self) -> CrmState:
        state = getattr(self, "state", None)
        if state is None:
            raise RuntimeError("HubSpotApi is not bound to a CrmState (EmulatorServer binds it)")
        return state

    def _usage_headers(self) -> dict[str, str]:
        state = self._require_state()
        used = state.api_calls.get("hubspot", 0)
        return {
            "X-HubSpot-RateLimit-Daily": str(state.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, state.daily_limit - used)),
            "X-HubSpot-RateLimit-Max": "190",
            "X-HubSpot-RateLimit-Remaining": "189",
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        }

    def _missing_scope(self, scope: str) -> Response:
        return error(
            403, "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call. Read more "
            "about required scopes here: https://developers.hubspot.com/scopes.",
            errors=[{"message": "One or more of the following scopes are required.",
                     "context": {"requiredGranularScopes": [scope]}}],
            links={"scopes": "https://developers.hubspot.com/scopes"},
        )

    # ApiFlavour ---------------------------------------------------------------------------
    def fault_response(self, kind: str) -> Response:
        if kind == "rate_limit":
            resp = Response(429, {
                "status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
                "policyName": "TEN_SECONDLY_ROLLING",
            })
            resp.headers.update({
                "Retry-After": "1", "X-HubSpot-RateLimit-Max": "190",
                "X-HubSpot-RateLimit-Remaining": "0",
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            })
            return resp
        if kind == "server_error":
            status = 502 if uuid.uuid4().int % 2 else 503
            return error(status, "INTERNAL_ERROR", "The server is temporarily unavailable")
        if kind == "expired_session":
            return self.unauthorized()
        return error(500, "INTERNAL_ERROR", f"injected fault {kind}")

    def unauthorized(self) -> Response:
        return error(
            401, "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication "
            "and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )

    def not_found(self, path: str) -> Response:
        return error(404, "OBJECT_NOT_FOUND", f"No route for {path}")

    # owners -------------------------------------------------------------------------------
    def _owners_list(self, req: Request) -> Response:
        state = self._require_state()
        limit = int(req.arg("limit", "100") or 100)
        if not 1 <= limit <= 500:
            return error(400, "VALIDATION_ERROR", "limit must be between 1 and 500")
        start = int(req.arg("after", "0") or 0)
        archived = flag(req.arg("archived"))
        email = (req.arg("email") or "").lower()
        owners = [o for n, o in sorted(state.owners.items())
                  if n >= start and (not o.is_active) == archived and is_hubspot_owner(o)
                  and (not email or o.email.lower() == email)]
        page = owners[:limit]
        body: dict[str, Any] = {"results": [render_owner(o) for o in page]}
        if len(owners) > limit:
            after = str(page[-1].n + 1)
            body["paging"] = {"next": {"after": after, "link": f"/crm/v3/owners/?after={after}"}}
        return Response(200, body)

    def _owner_get(self, req: Request) -> Response:
        state = self._require_state()
        raw = req.match["id"] if req.match else ""
        by_user = req.arg("idProperty") == "userId"
        n = int(raw) - 1_000_000 if by_user and raw.isdigit() else (int(raw) if raw.isdigit() else -1)
        owner = state.owners.get(n)
        if owner is None or not is_hubspot_owner(owner) or (not owner.is_active and not flag(req.arg("archived"))):
            return error(404, "OBJECT_NOT_FOUND", f"Owner {raw} not found")
        return Response(200, render_owner(owner))

    # objects ------------------------------------------------------------------------------
    def _find(self, t: HsType, raw: str, archived: bool = False, id_property: str | None = None) -> Any | None:
        """A record by id or, with ``id_property`` (a unique property), by that property's value."""
        state = self._require_state()
        if id_property and id_property != "hs_object_id":
            by_value = records_by_value(state, t, id_property) if unique_property(state, t, id_property) else {}
            record = by_value.get(raw)
            return record if record is not None and not archived else None
        record = t.rows(state).get(int(raw)) if raw.isdigit() else None
        if record is None or not t.belongs(record) or record.deleted != archived:
            return None
        return record

    def _list(self, req: Request, t: HsType) -> Response:
        state = self._require_state()
        limit = int(req.arg("limit", "10") or 10)
        cap = 50 if req.args("propertiesWithHistory") else 100
        if not 1 <= limit <= cap:
            return error(400, "VALIDATION_ERROR", f"limit must be between 1 and {cap}")
        after = req.arg("after") or "0"
        if not after.isdigit():
            return error(400, "VALIDATION_ERROR", f"Invalid paging cursor: {after}")
        archived = flag(req.arg("archived"))
        records, next_start = self._index.page(state, t, int(after), limit, archived)
        wanted = req.args("properties")
        assoc = [a for a in (resolve_type(x) for x in req.args("associations")) if a is not None]
        history = req.args("propertiesWithHistory")
        results = [self._with_assoc(t, r, render_object(t, r, wanted, state, history), assoc) for r in records]
        body: dict[str, Any] = {"results": results}
        if next_start is not None:
            link = f"{_OBJ.split('(')[0]}{t.name}?after={next_start}"
            body["paging"] = {"next": {"after": str(next_start), "link": link}}
        return Response(200, body)

    def _get(self, req: Request, t: HsType) -> Response:
        raw = req.match["id"] if req.match else ""
        record = self._find(t, raw, archived=flag(req.arg("archived")), id_property=req.arg("idProperty"))
        if record is None:
            return error(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
        assoc = [a for a in (resolve_type(x) for x in req.args("associations")) if a is not None]
        return Response(200, self._with_assoc(t, record, render_object(t, record, req.args("properties"), self._require_state(), req.args("propertiesWithHistory")), assoc))

    def _create(self, req: Request, t: HsType) -> Response:
        body = req.json() or {}
        try:
            record = self._build(t, body)
        except PropertyError as exc:
            return invalid([exc])
        self._store(t, record)
        return Response(201, render_object(t, record, list((body.get("properties") or {}).keys()), self._require_state()))

    def _build(self, t: HsType, item: dict[str, Any]) -> Any:
        """Validate a create input (associations included) and build its record, not stored yet."""
        state = self._require_state()
        record = new_record(state, t, item.get("properties") or {})
        pending = []
        for assoc in item.get("associations") or []:
            to_id = str((assoc.get("to") or {}).get("id", ""))
            type_ids = {int(x.get("associationTypeId", 0)) for x in assoc.get("types") or []}
            target = links.target_type(t.name, type_ids)
            other = self._find(TYPES[target], to_id) if target is not None else None
            if other is None:
                raise PropertyError("associations", f"invalid association to {to_id} with types {sorted(type_ids)}",
                                    "INVALID_ASSOCIATION")
            pending.append((target, other, type_ids))
        self._pending[record.n] = pending
        return record

    def _store(self, t: HsType, record: Any) -> None:
        state = self._require_state()
        t.rows(state)[record.n] = record
        for target, other, type_ids in self._pending.pop(record.n, []):
            links.link(state, t.name, record, target, other, type_ids)

    def _update(self, req: Request, t: HsType) -> Response:
        raw = req.match["id"] if req.match else ""
        record = self._find(t, raw, id_property=req.arg("idProperty"))
        if record is None:
            return error(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
        props = (req.json() or {}).get("properties") or {}
        try:
            changes = changes_for(self._require_state(), t, record, props)
        except PropertyError as exc:
            return invalid([exc])
        self._require_state().touch(record, **changes)
        return Response(200, render_object(t, record, list(props.keys()), self._require_state()))

    def _archive(self, req: Request, t: HsType) -> Response:
        record = self._find(t, req.match["id"] if req.match else "")
        if record is not None:
            self._require_state().delete(record)
        return Response(204)  # HubSpot answers 204 for unknown ids as well

    # search -------------------------------------------------------------------------------
    def _search(self, req: Request, t: HsType) -> Response:
        body = req.json() or {}
        limit = int(body.get("limit") or 10)
        after = int(body.get("after") or 0)
        if not 1 <= limit <= 200:
            return error(400, "VALIDATION_ERROR", "limit must be between 1 and 200")
        if after >= self.search_cap:
            return error(400, "VALIDATION_ERROR",
                         f"Paging past {self.search_cap} results is not supported: narrow the search")
        state = self._require_state()
        rows = t.rows(state)
        live = [r for r in (rows[n] for n in self._index.keys(state, t)) if not r.deleted]
        end = min(after + limit, self.search_cap)
        try:
            total, matches = run_search(_searchable(state, t, body), live, body, end)
        except SearchError as exc:
            return error(400, "VALIDATION_ERROR", str(exc))
        page = matches[after:end]
        out: dict[str, Any] = {"total": total,
                               "results": [render_object(t, r, body.get("properties"), state) for r in page]}
        if end < total:
            out["paging"] = {"next": {"after": str(end), "link": None}}
        return Response(200, out)

    # token info ---------------------------------------------------------------------------
    def _token_info(self, req: Request) -> Response:
        return Response(200, {"userId": 1_000_001, "hubId": HUBSPOT_PORTAL_ID, "appId": 777,
                              "scopes": sorted(self.scopes)})


def _searchable(state: CrmState, t: HsType, body: dict[str, Any]) -> HsType:
    """``t``, reading custom property values too when the search filters or sorts on one."""
    named = {f.get("propertyName") for g in body.get("filterGroups") or [] for f in g.get("filters") or []}
    named |= {s.get("propertyName") if isinstance(s, dict) else str(s).lstrip("-") for s in body.get("sorts") or []}
    obj = state.schema.get("hubspot", t.name)
    custom = obj is not None and any((f := obj.field(str(n))) is not None and f.custom for n in named if n)
    return with_custom_values(t, state) if custom else t
