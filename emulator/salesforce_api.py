"""The Salesforce REST API subset the connector uses, served from :class:`CrmState`.

Faithful enough for the real simple-salesforce client (session id + instance URL):
``query``/``queryAll`` with a SOQL subset and query-locator paging, sObject CRUD, sObject
Collections (200 per call, per-record results, allOrNone), ``limits``, ``describe``.
Errors are JSON lists ``[{"message", "errorCode", "fields"}]`` as Salesforce sends them.

Fault injection: Salesforce REST never answers 429, so the ``rate_limit`` fault is served as
``503 SERVER_UNAVAILABLE`` with ``Retry-After: 1`` (what an overloaded org or a proxy in
front of it sends); ``server_error`` is ``500 UNKNOWN_EXCEPTION``; ``expired_session`` is
``401 INVALID_SESSION_ID``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from territory.emulator.salesforce import by_external_id
from territory.emulator.salesforce.by_external_id import json_object
from territory.emulator.salesforce.describe import describe, object_summary
from territory.emulator.salesforce.metadata_api import MetadataApi
from territory.emulator.salesforce.notes import content_blob
from territory.emulator.salesforce.records import build_sobjects_all, default_actor, save
from territory.emulator.salesforce.tooling import tooling_query
from territory.emulator.salesforce_collections import (
    run_collection_delete,
    run_collection_upsert,
    run_collection_write,
)
from territory.emulator.salesforce_objects import (
    FieldProblem,
    SObjectDef,
    apply_writes,
    json_value,
)
from territory.emulator.salesforce_query import MAX_BATCH, QueryEngine
from territory.emulator.server import ApiFlavour, EmulatorServer, Request, Response, Router
from territory.emulator.soql import SoqlError, parse_soql
from territory.emulator.state import parse_sf_id, sf_id

COLLECTION_LIMIT = 200
ORG_ID = "00D000000000001AAA"
_V = r"/services/data/v(?P<v>\d+\.\d+)"


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    """A Salesforce REST error response: a JSON list with one error."""
    return Response(status, [{"message": message, "errorCode": code, "fields": fields or []}])


class SalesforceApi(ApiFlavour):
    """Routes under ``/services``.

    Args:
        denied_objects: sObjects the integration user may not touch at all (403
            INSUFFICIENT_ACCESS), to exercise permission errors.
        read_only_objects: sObjects it may read but not create/update.
        locked_ids: record ids whose next collection update fails once with the transient
            per-record error UNABLE_TO_LOCK_ROW (another transaction holds the row).
    """

    name = "salesforce"
    path_prefix = "/services"
    extra_prefixes = ("/id/",)

    def __init__(
        self, denied_objects: Iterable[str] = (), read_only_objects: Iterable[str] = (), locked_ids: Iterable[str] = ()
    ) -> None:
        self.denied = {o.lower() for o in denied_objects}
        self.read_only = {o.lower() for o in read_only_objects}
        self.locked_ids = set(locked_ids)  # next collection update of each fails once with UNABLE_TO_LOCK_ROW

    def bind(self, server: EmulatorServer) -> None:
        super().bind(server)
        self.defs = build_sobjects_all(self.state)
        self.engine = QueryEngine(self.state, self.defs)
        self.metadata = MetadataApi(self.state, self.defs, server.tokens)

    # ApiFlavour --------------------------------------------------------------------------
    def register(self, router: Router) -> None:
        routes = [
            ("GET", r"/services/data/?", self._versions),
            ("GET", _V + r"/?", self._resources),
            ("GET", r"/id/(?P<org>00D\w{12,15})/(?P<user>005\w{12,15})/?", self._identity),
            ("GET", _V + r"/(?P<ep>query|queryAll)/?", self._query),
            ("GET", _V + r"/(?P<ep>query|queryAll)/(?P<loc>01g\w+)-(?P<off>\d+)", self._query_more),
            ("GET", _V + r"/limits/?", self._limits),
            ("GET", _V + r"/sobjects/?", self._global_describe),
            ("GET", _V + r"/sobjects/(?P<t>\w+)/describe/?", self._describe),
            ("GET", _V + r"/sobjects/(?P<t>\w+)/(?P<id>\w{15,18})", self._get),
            ("GET", _V + r"/sobjects/ContentNote/(?P<id>\w{15,18})/Content", lambda req: content_blob(self.state, req)),
            ("GET", _V + r"/sobjects/(?P<t>\w+)/(?P<f>\w+)/(?P<value>[^/]+)", self._by_external_id),
            ("PATCH", _V + r"/sobjects/(?P<t>\w+)/(?P<f>\w+)/(?P<value>[^/]+)", self._upsert),
            ("PATCH", _V + r"/sobjects/(?P<t>\w+)/(?P<id>\w{15,18})", self._patch),
            ("DELETE", _V + r"/sobjects/(?P<t>\w+)/(?P<id>\w{15,18})", self._delete),
            ("POST", _V + r"/sobjects/(?P<t>\w+)/?", self._create),
            ("POST", _V + r"/composite/sobjects/?", self._collection_write),
            ("PATCH", _V + r"/composite/sobjects/?", self._collection_write),
            ("DELETE", _V + r"/composite/sobjects/?", self._collection_delete),
            ("GET", _V + r"/composite/sobjects/(?P<t>\w+)/?", self._collection_get),
            ("POST", _V + r"/composite/sobjects/(?P<t>\w+)/?", self._collection_retrieve),
            ("PATCH", _V + r"/composite/sobjects/(?P<t>\w+)/(?P<f>\w+)/?", self._collection_upsert),
            ("POST", r"/services/oauth2/token", self._token),
            ("POST", r"/services/Soap/m/(?P<v>\d+\.\d+)/?", self.metadata.soap),
            ("POST", _V + r"/tooling/sobjects/CustomField/?", self.metadata.tooling_custom_field),
            ("GET", _V + r"/tooling/query/?", lambda req: tooling_query(self.state, req)),
        ]
        for method, pattern, handler in routes:
            router.add(method, pattern, self._guarded(handler))

    def fault_response(self, kind: str) -> Response:
        if kind == "expired_session":
            return self.unauthorized()
        if kind == "rate_limit":
            resp = sf_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, retry later")
            resp.headers["Retry-After"] = "1"
            return resp
        return sf_error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId.")

    def unauthorized(self) -> Response:
        return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def not_found(self, path: str) -> Response:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")

    # plumbing ----------------------------------------------------------------------------
    def _guarded(self, handler: Any) -> Any:
        def run(req: Request) -> Response:
            used = self.state.api_calls.get(self.name, 0)
            if used > self.state.daily_limit:
                return sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            try:
                resp: Response = handler(req)
            except SoqlError as exc:
                resp = sf_error(400, exc.code, str(exc))
            except FieldProblem as exc:
                resp = sf_error(400, exc.code, exc.message, exc.fields)
            if resp.status < 300:
                resp.headers["Sforce-Limit-Info"] = f"api-usage={used}/{self.state.daily_limit}"
            return resp

        return run

    def _sobject(self, name: str, *, write: bool = False) -> SObjectDef | Response:
        sobject = self.defs.get(name.lower())
        if sobject is None:
            return sf_error(404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{name}'")
        if sobject.name.lower() in self.denied or (write and sobject.name.lower() in self.read_only):
            return sf_error(403, "INSUFFICIENT_ACCESS", f"insufficient access rights on object {sobject.name}")
        return sobject

    def _record(self, sobject: SObjectDef, record_id: str) -> Any | Response:
        parsed = parse_sf_id(record_id)
        table = self.state.table(sobject.kind)
        rec = table.get(parsed[1]) if parsed and parsed[0] == sobject.kind else None
        if rec is None or not sobject.include(rec):
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        if getattr(rec, "deleted", False):
            return sf_error(404, "ENTITY_IS_DELETED", "entity is deleted")
        return rec

    def _render(self, sobject: SObjectDef, rec: Any, version: str, fields: list[str] | None = None) -> dict[str, Any]:
        names = fields or list(sobject.getters)
        body: dict[str, Any] = {
            "attributes": {"type": sobject.name, "url": f"/services/data/v{version}/sobjects/{sobject.name}/{sf_id(sobject.kind, rec.n)}"}
        }
        for name in names:
            canonical = sobject.canonical(name)
            if canonical is None:
                raise SoqlError("INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject.name}")
            body[canonical] = json_value(sobject.getters[canonical](rec))
        return body

    def _apply(self, sobject: SObjectDef, rec: Any, changes: dict[str, Any]) -> None:
        save(self.state, self.defs, sobject, rec, changes, default_actor(self.state))

    def _insert(self, sobject: SObjectDef, changes: dict[str, Any]) -> Any:
        return save(self.state, self.defs, sobject, None, changes, default_actor(self.state))

    # read endpoints ----------------------------------------------------------------------
    def _versions(self, req: Request) -> Response:
        versions = [("Winter '24", "59.0"), ("Spring '24", "60.0"), ("Summer '24", "61.0"),
                    ("Winter '25", "62.0"), ("Spring '25", "63.0")]
        return Response(200, [{"label": label, "url": f"/services/data/v{v}", "version": v} for label, v in versions])

    def _resources(self, req: Request) -> Response:
        v = req.match["v"]  # type: ignore[index]
        names = ("sobjects", "query", "queryAll", "limits", "composite", "tooling")
        body = {n: f"/services/data/v{v}/{n}" for n in names}
        body["identity"] = self._identity_url()
        return Response(200, body)

    def _identity_url(self) -> str:
        return f"{self.server.https_url}/id/{ORG_ID}/{sf_id('owner', default_actor(self.state))}"

    def _identity(self, req: Request) -> Response:
        user = self.state.owners.get(int(req.match["user"][3:15]))  # type: ignore[index]
        base = self.server.https_url
        name = f"{user.first_name} {user.last_name}" if user else "Territory Integration"
        email = user.email if user else "integration@territory-sandbox.example"
        v = "59.0"
        return Response(200, {
            "id": f"{base}/id/{ORG_ID}/{req.match['user']}", "asserted_user": True,  # type: ignore[index]
            "user_id": req.match["user"], "organization_id": ORG_ID, "username": email,  # type: ignore[index]
            "nick_name": email.split("@")[0], "display_name": name, "email": email, "email_verified": True,
            "first_name": user.first_name if user else "Territory", "last_name": user.last_name if user else "Integration",
            "active": True, "user_type": "STANDARD", "language": "en_US", "locale": "en_US", "utcOffset": 0,
            "urls": {k: f"{base}/services/data/v{v}/{p}" for k, p in (
                ("enterprise", "../Soap/c/59.0"), ("rest", ""), ("sobjects", "sobjects/"), ("query", "query/"),
                ("metadata", "../Soap/m/59.0"), ("tooling_rest", "tooling/"), ("limits", "limits/"))},
            "is_app_installed": True, "last_modified_date": "2026-01-01T00:00:00.000+0000",
        })

    def _query(self, req: Request) -> Response:
        text = req.arg("q")
        if not text:
            return sf_error(400, "MALFORMED_QUERY", "A query string has to be specified")
        target = self._sobject(parse_soql(text).sobject)
        if isinstance(target, Response) and target.status == 403:
            return target  # unknown objects are reported by the engine as INVALID_TYPE
        batch = _batch_size(req.headers.get("sforce-query-options", ""))
        include_deleted = req.match["ep"] == "queryAll"  # type: ignore[index]
        return Response(200, self.engine.run(text, include_deleted=include_deleted, version=req.match["v"], batch=batch))  # type: ignore[index]

    def _query_more(self, req: Request) -> Response:
        m = req.match
        assert m is not None
        page = self.engine.more(m["loc"], int(m["off"]))
        if page is None:
            return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return Response(200, page)

    def _limits(self, req: Request) -> Response:
        limit = self.state.daily_limit
        used = self.state.api_calls.get(self.name, 0)
        return Response(200, {"DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)}})

    def _global_describe(self, req: Request) -> Response:
        v = req.match["v"]  # type: ignore[index]
        items = [object_summary(d, v, writable=d.name.lower() not in self.read_only)
                 for d in self.defs.values() if d.name.lower() not in self.denied]
        return Response(200, {"encoding": "UTF-8", "maxBatchSize": COLLECTION_LIMIT, "sobjects": items})

    def _describe(self, req: Request) -> Response:
        sobject = self._sobject(req.match["t"])  # type: ignore[index]
        if isinstance(sobject, Response):
            return sobject
        writable = sobject.name.lower() not in self.read_only
        return Response(200, describe(sobject, self.defs, req.match["v"], writable=writable))  # type: ignore[index]

    def _get(self, req: Request) -> Response:
        m = req.match
        assert m is not None
        sobject = self._sobject(m["t"])
        if isinstance(sobject, Response):
            return sobject
        with self.state.lock:
            rec = self._record(sobject, m["id"])
            if isinstance(rec, Response):
                return rec
            return Response(200, self._render(sobject, rec, m["v"], req.args("fields") or None))

    # single-record writes ----------------------------------------------------------------
    def _patch(self, req: Request) -> Response:
        m = req.match
        assert m is not None
        sobject = self._sobject(m["t"], write=True)
        if isinstance(sobject, Response):
            return sobject
        with self.state.lock:
            rec = self._record(sobject, m["id"])
            if isinstance(rec, Response):
                return rec
            self._apply(sobject, rec, apply_writes(sobject, json_object(req), creating=False))
        return Response(204)

    def _delete(self, req: Request) -> Response:
        m = req.match
        assert m is not None
        sobject = self._sobject(m["t"], write=True)
        if isinstance(sobject, Response):
            return sobject
        if sobject.name == "User":
            return sf_error(400, "INVALID_OPERATION", "Users cannot be deleted; deactivate them instead")
        with self.state.lock:
            rec = self._record(sobject, m["id"])
            if isinstance(rec, Response):
                return rec
            self.state.delete(rec)
        return Response(204)

    def _create(self, req: Request) -> Response:
        sobject = self._sobject(req.match["t"], write=True)  # type: ignore[index]
        if isinstance(sobject, Response):
            return sobject
        if sobject.factory is None:
            return sf_error(403, "INSUFFICIENT_ACCESS", f"insufficient access rights to create {sobject.name}")
        with self.state.lock:
            rec = self._insert(sobject, apply_writes(sobject, json_object(req), creating=True))
        return Response(201, {"id": sf_id(sobject.kind, rec.n), "success": True, "errors": []})

    # sObject Collections -----------------------------------------------------------------
    def _collection_write(self, req: Request) -> Response:
        body = req.json()
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            return sf_error(400, "JSON_PARSER_ERROR", "The request body must hold a records list")
        if len(body["records"]) > COLLECTION_LIMIT:
            return sf_error(400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call")
        return Response(200, run_collection_write(self, body["records"], bool(body.get("allOrNone")), creating=req.method == "POST"))

    def _collection_upsert(self, req: Request) -> Response:
        body, m = req.json(), req.match or {}
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            return sf_error(400, "JSON_PARSER_ERROR", "The request body must hold a records list")
        if len(body["records"]) > COLLECTION_LIMIT:
            return sf_error(400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call")
        answer = run_collection_upsert(self, m["t"], m["f"], body["records"], bool(body.get("allOrNone")))
        return answer if isinstance(answer, Response) else Response(200, answer)

    def _collection_get(self, req: Request) -> Response:
        sobject = self._sobject(req.match["t"])  # type: ignore[index]
        if isinstance(sobject, Response):
            return sobject
        return by_external_id.retrieve(self, sobject, req.args("ids"), req.args("fields"), req.match["v"], MAX_BATCH)  # type: ignore[index]

    def _collection_retrieve(self, req: Request) -> Response:
        return by_external_id.retrieve_posted(self, req)

    def _by_external_id(self, req: Request) -> Response:
        return by_external_id.get_by_external_id(self, req)

    def _upsert(self, req: Request) -> Response:
        return by_external_id.upsert_by_external_id(self, req)

    def _collection_delete(self, req: Request) -> Response:
        ids = req.args("ids")
        if len(ids) > COLLECTION_LIMIT:
            return sf_error(400, "EXCEEDED_ID_LIMIT", f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call")
        return Response(200, run_collection_delete(self, ids, req.arg("allOrNone", "false") == "true"))

    def _token(self, req: Request) -> Response:
        # OAuth password / JWT bearer grants: any well-formed request gets the emulator token.
        form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        grants = ("password", "urn:ietf:params:oauth:grant-type:jwt-bearer", "client_credentials")
        if form.get("grant_type") not in grants:
            return Response(400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"})
        if not self.server.tokens:  # every token was revoked: a fresh login issues a new one
            self.server.tokens.add(f"emu-{secrets.token_urlsafe(24)}")
        token = sorted(self.server.tokens)[0]
        return Response(200, {
            "access_token": token, "instance_url": self.server.https_url, "id": self._identity_url(),
            "token_type": "Bearer", "issued_at": "1700000000000", "signature": "emulator", "scope": "api",
        })


def _batch_size(options: str) -> int:
    for part in options.split(","):
        key, _, value = part.strip().partition("=")
        if key == "batchSize" and value.isdigit():
            return int(value)
    return MAX_BATCH
