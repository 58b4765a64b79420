"""HTTP(S) server core of the CRM emulator: routing, TLS, auth and fault injection.

The API modules (``emulator.salesforce_api``, ``emulator.hubspot_api``) register routes in a
:class:`Router`; this module only dispatches. Salesforce paths (``/services/...``) and HubSpot
paths (``/crm/...``) never collide, so one server speaks both on one TLS port and, because
the HubSpot client is happiest on plain http, the same router is served on a second, plain
http port as well.
"""

from __future__ import annotations

import json
import random
import re
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from territory.emulator.state import CrmState


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    match: re.Match[str] | None = None
    client: str = ""  # peer address ("" when built in-process); the control API checks it

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """All values of a repeated or comma-separated query parameter."""
        out: list[str] = []
        for value in self.query.get(name, []):
            out.extend(v for v in value.split(",") if v)
        return out


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON, str/bytes -> as is, None -> empty
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=UTF-8"

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


Handler = Callable[[Request], Response]


class Router:
    """Ordered (method, regex) → handler table."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern + r"\Z"), handler))

    def resolve(self, method: str, path: str) -> tuple[Handler, re.Match[str]] | None:
        for route_method, pattern, handler in self.routes:
            if route_method == method:
                m = pattern.match(path)
                if m:
                    return handler, m
        return None


@dataclass
class FaultPlan:
    """Inject failures at ``rate`` (0..1); ``kinds`` from rate_limit, server_error,
    expired_session, drop_connection, lost_response. ``script`` forces the next faults in
    order (tests)."""

    rate: float = 0.0
    kinds: tuple[str, ...] = ("rate_limit", "server_error", "expired_session", "drop_connection")
    # also "lost_response": the handler runs and commits, then the connection drops unanswered
    seed: int = 0
    script: list[str] = field(default_factory=list)
    injected: dict[str, int] = field(default_factory=dict)  # kind -> how many were served
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def next_fault(self) -> str | None:
        fault = self._draw()
        if fault is not None:
            self.injected[fault] = self.injected.get(fault, 0) + 1
        return fault

    def _draw(self) -> str | None:
        if self.script:
            return self.script.pop(0)
        if self.rate > 0 and self._rng.random() < self.rate:
            return self._rng.choice(self.kinds)
        return None


class ApiFlavour:
    """What an API module supplies: its routes, how it spells errors, which paths it owns."""

    name: str = ""
    path_prefix: str = ""
    state: CrmState
    server: EmulatorServer

    def bind(self, server: EmulatorServer) -> None:
        """Called by the server before :meth:`register`: gives handlers the data and server."""
        self.server = server
        self.state = server.state

    def register(self, router: Router) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def fault_response(self, kind: str) -> Response:  # pragma: no cover - interface
        raise NotImplementedError

    def unauthorized(self) -> Response:  # pragma: no cover - interface
        raise NotImplementedError

    def not_found(self, path: str) -> Response:  # pragma: no cover - interface
        raise NotImplementedError


class EmulatorServer:
    """Serve ``state`` through the given API flavours on an https and an http port."""

    def __init__(
        self,
        state: CrmState,
        flavours: list[ApiFlavour],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        http_port: int = 0,
        tokens: set[str] | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        self.state = state
        self.flavours = flavours
        self.tokens = tokens if tokens is not None else {"emulator-token"}
        self.faults = faults or FaultPlan()
        self.router = Router()
        for flavour in flavours:
            flavour.bind(self)
            flavour.register(self.router)
        self.request_log: list[tuple[str, str]] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="territory-emulator-")
        self.ca_file, context = _build_tls(Path(self._tmp.name))
        self._https = _make_server(self, host, port, context)
        self._http = _make_server(self, host, http_port, None)
        self._threads: list[threading.Thread] = []

    @property
    def https_url(self) -> str:
        host, port = self._https.server_address[:2]
        return f"https://{host}:{port}"

    @property
    def http_url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> EmulatorServer:
        for server in (self._https, self._http):
            t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        for server in (self._https, self._http):
            server.shutdown()
            server.server_close()
        self._tmp.cleanup()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def flavour_for(self, path: str) -> ApiFlavour | None:
        for flavour in self.flavours:
            # extra_prefixes: a flavour may own a few paths outside its main prefix
            if path.startswith((flavour.path_prefix, *getattr(flavour, "extra_prefixes", ()))):
                return flavour
        return None

    def handle(self, req: Request) -> Response | None:
        """Dispatch one request; ``None`` means drop the connection."""
        flavour = self.flavour_for(req.path)
        if flavour is None:
            if req.path.startswith("/_emulator"):
                return self._dispatch(req, None)
            return Response(404, {"message": f"no such API path {req.path}"})
        with self.state.lock:
            self.state.api_calls[flavour.name] = self.state.api_calls.get(flavour.name, 0) + 1
        self.request_log.append((req.method, req.path))
        fault = self.faults.next_fault()
        if fault == "drop_connection":
            return None
        if fault == "lost_response":  # the write is applied, then the connection drops
            self._dispatch(req, flavour)
            return None
        if fault is not None:
            return flavour.fault_response(fault)
        public = getattr(req, "public", False) or _is_public(req.path)
        if not public and not _authorized(req, self.tokens):
            return flavour.unauthorized()
        return self._dispatch(req, flavour)

    def _dispatch(self, req: Request, flavour: ApiFlavour | None) -> Response:
        found = self.router.resolve(req.method, req.path)
        if found is None:
            if flavour is None:
                return Response(404, {"message": f"no such path {req.path}"})
            return flavour.not_found(req.path)
        handler, req.match = found
        return handler(req)


def _read_body(stream: Any, headers: Any) -> bytes:
    """The request body by Content-Length or, for ``Transfer-Encoding: chunked``, chunk by chunk
    (so the next request on a keep-alive connection starts where this one ended)."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        parts: list[bytes] = []
        while True:
            size_line = stream.readline(65537)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while stream.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailer headers
                return b"".join(parts)
            parts.append(stream.read(size))
            stream.readline(65537)  # the CRLF after each chunk
    length = int(headers.get("Content-Length") or 0)
    return stream.read(length) if length else b""


_PUBLIC = ("/services/oauth2/token", "/services/Soap/u/", "/services/Soap/m/")


def _is_public(path: str) -> bool:
    # the version list needs no session, as on Salesforce
    return path.startswith(_PUBLIC) or path.rstrip("/") == "/services/data"


def _authorized(req: Request, tokens: set[str]) -> bool:
    auth = req.headers.get("authorization", "")
    return auth.startswith("Bearer ") and auth[7:] in tokens


def _build_tls(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = folder / "emulator-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return ca_file, context


def _make_server(
    emulator: EmulatorServer, host: str, port: int, context: ssl.SSLContext | None
) -> ThreadingHTTPServer:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, the body waits for the
        # client's delayed ACK (~40 ms per request on Linux). TCP_NODELAY avoids that stall.
        disable_nagle_algorithm = True

        def log_message(self, *args: object) -> None:  # quiet
            return

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            body = _read_body(self.rfile, self.headers)
            req = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                client=str(self.client_address[0]) if self.client_address else "",
            )
            try:
                resp = emulator.handle(req)
            except Exception as exc:  # an emulator bug must still answer like a server
                resp = Response(500, [{"message": f"emulator error: {exc}", "errorCode": "UNKNOWN_EXCEPTION"}])
            if resp is None:
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            payload = resp.encode()
            self.send_response(resp.status)
            if payload or resp.status not in (204, 304):
                self.send_header("Content-Type", resp.content_type)
            for key, value in resp.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    return server
