"""Build the official ``hubspot-api-client`` and run every call through our retry policy.

Every HTTP call goes through :meth:`HubSpotClient.call`: it counts the call, asks the client
for the raw response (``_preload_content=False``, so big pages skip the generated models'
slow deserialisation and we parse plain JSON), remembers the rate-limit headers and the
server's ``Date``, and translates errors at the boundary. urllib3's own retries are off so
that every attempt is visible (and counted) here; :func:`connector.retry.call_with_retry`
does the retrying.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from hubspot import HubSpot
from urllib3.util.retry import Retry

from territory.connector.errors import FatalCrmError, SessionExpiredError
from territory.connector.hubspot.errors import CRM, is_client_error, translate_error
from territory.connector.retry import DEFAULT_POLICY, RetryPolicy, call_with_retry

REQUEST_TIMEOUT = (10.0, 120.0)  # connect, read seconds
# Private-app tokens do not expire, so a 401 that survives a fresh client is usually a
# revoked token; a few rounds still ride out stray 401s from a flaky proxy (or --fault-rate).
REAUTH_ROUNDS = 3


class HubSpotResponse:
    """What a call returned: parsed JSON (None for empty bodies), status and headers."""

    __slots__ = ("data", "status", "headers")

    def __init__(self, data: Any, status: int, headers: dict[str, str]) -> None:
        self.data = data
        self.status = status
        self.headers = headers


class HubSpotClient:
    """The official client plus call counting, retries and error translation.

    Args:
        access_token: private-app token.
        host: API base URL override (``HUBSPOT_BASE_URL``), e.g. the emulator.
        policy: retry policy; ``sleep`` is injected for tests.
    """

    def __init__(
        self,
        access_token: str,
        host: str | None = None,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[BaseException, float], None] | None = None,
    ) -> None:
        self._token = access_token
        self._host = host.rstrip("/") if host else None
        self.policy = policy
        self.sleep = sleep
        self.on_retry = on_retry
        self.api_calls = 0
        self.reauthentications = 0
        self.last_headers: dict[str, str] = {}
        self.last_server_time: datetime | None = None
        self._apis: dict[str, Any] = {}
        self._hub = self._build()

    def _build(self) -> HubSpot:
        kwargs: dict[str, Any] = {"access_token": self._token, "retry": Retry(total=False)}
        if self._host:
            kwargs["host"] = self._host
        return HubSpot(**kwargs)

    def rebuild(self) -> None:
        """Re-authenticate: a fresh client (and connection pools) with the token."""
        self.reauthentications += 1
        self._apis.clear()
        self._hub = self._build()

    def api(self, name: str) -> Any:
        """A cached API object, e.g. ``api("companies.basic")`` or ``api("owners")``.

        Each discovery property builds a new ApiClient with its own connection pool, so
        caching them keeps connections alive across the thousand pages of a big read.
        """
        found = self._apis.get(name)
        if found is None:
            found = self._apis[name] = _resolve(self._hub, name)
        return found

    @property
    def access_token(self) -> str:
        return self._token

    def call(self, invoke: Callable[[dict[str, Any]], Any], *, attempts: int | None = None) -> HubSpotResponse:
        """Run one API call with retries; ``invoke(kw)`` must pass ``**kw`` to the client.

        ``attempts=1`` sends it once (a create whose answer got lost must be reconciled by
        the caller before it is sent again, or it would be created twice).

        Raises:
            connector.errors.CrmError: translated; a 401 that survives one rebuild is fatal.
        """

        def attempt() -> HubSpotResponse:
            self.api_calls += 1
            try:
                raw = invoke({"_preload_content": False, "_request_timeout": REQUEST_TIMEOUT})
                return self._decode(raw)
            except Exception as exc:
                if not is_client_error(exc):
                    raise
                headers = getattr(exc, "headers", None)
                if headers:
                    self._remember(dict(headers))
                raise translate_error(exc) from exc

        expired: SessionExpiredError | None = None
        for _ in range(REAUTH_ROUNDS):
            try:
                policy = self.policy if attempts is None else replace(self.policy, max_attempts=attempts)
                return call_with_retry(attempt, policy=policy, reauthenticate=self.rebuild,
                                       sleep=self.sleep, on_retry=self.on_retry)
            except FatalCrmError as exc:
                if not isinstance(exc.__cause__, SessionExpiredError):
                    raise
                expired = exc.__cause__  # a 401 right after a fresh client: maybe a stray one
        raise FatalCrmError(
            f"HUBSPOT_ACCESS_TOKEN invalid or revoked: {expired.args[0] if expired else 'HTTP 401'}",
            crm=CRM, status=401, code=expired.code if expired else None,
            next_step="create a new access token for the private app and set HUBSPOT_ACCESS_TOKEN",
        )

    def _decode(self, raw: Any) -> HubSpotResponse:
        try:
            payload = raw.data
        finally:
            release = getattr(raw, "release_conn", None)
            if release is not None:
                release()
        headers = dict(raw.headers.items()) if getattr(raw, "headers", None) is not None else {}
        self._remember(headers)
        data = json.loads(payload) if payload else None
        return HubSpotResponse(data, int(raw.status), headers)

    def _remember(self, headers: dict[str, str]) -> None:
        lowered = {k.lower(): v for k, v in headers.items()}
        if "x-hubspot-ratelimit-daily" in lowered:
            self.last_headers = lowered
        date = lowered.get("date")
        if date:
            try:
                self.last_server_time = parsedate_to_datetime(date).astimezone(UTC)
            except (TypeError, ValueError):
                pass

    def call_raw(self, path: str, method: str, body: Any) -> HubSpotResponse:
        """A documented endpoint the generated client has no method for (token info)."""
        api_client = self.api("owners").api_client
        return self.call(lambda kw: api_client.call_api(
            path, method, {}, [], {"Accept": "application/json", "Content-Type": "application/json"},
            body=body, response_types_map={}, auth_settings=["oauth2"],
            _return_http_data_only=True, **kw,
        ))


def _resolve(hub: HubSpot, name: str) -> Any:
    crm = hub.crm
    table: dict[str, Callable[[], Any]] = {
        "companies.basic": lambda: crm.companies.basic_api,
        "companies.batch": lambda: crm.companies.batch_api,
        "companies.search": lambda: crm.companies.search_api,
        "deals.basic": lambda: crm.deals.basic_api,
        "deals.batch": lambda: crm.deals.batch_api,
        "deals.search": lambda: crm.deals.search_api,
        "tasks.basic": lambda: crm.objects.tasks.basic_api,
        "tasks.batch": lambda: crm.objects.tasks.batch_api,
        "notes.basic": lambda: crm.objects.notes.basic_api,
        "notes.batch": lambda: crm.objects.notes.batch_api,
        "tasks.search": lambda: crm.objects.tasks.search_api,
        "notes.search": lambda: crm.objects.notes.search_api,
        "meetings.search": lambda: crm.objects.meetings.search_api,
        "calls.search": lambda: crm.objects.calls.search_api,
        "contacts.basic": lambda: crm.contacts.basic_api,
        "contacts.batch": lambda: crm.contacts.batch_api,
        "properties.core": lambda: crm.properties.core_api,
        "properties.groups": lambda: crm.properties.groups_api,
        "owners": lambda: crm.owners.owners_api,
        "associations.batch": lambda: crm.associations.v4.batch_api,
    }
    return table[name]()
