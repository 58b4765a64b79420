"""The one place HubSpot client exceptions become our :mod:`connector.errors` taxonomy.

Every ``hubspot.crm.<package>`` ships its own ``ApiException`` family (401 Unauthorized,
403 Forbidden, 404 NotFound, 5xx Service, else plain ApiException), all with ``.status``,
``.body`` (decoded str) and ``.headers``. urllib3 errors escape the client untouched.

::

    ApiException 429 ............ RetriableCrmError(retry_after=Retry-After)  (DAILY: Fatal)
    ApiException 5xx ............ RetriableCrmError
    urllib3 ProtocolError/NewConnectionError/ReadTimeoutError/MaxRetryError
                                  RetriableCrmError
    ApiException 401 ............ SessionExpiredError (rebuild the client once)
    ApiException 403 MISSING_SCOPES  FatalCrmError naming the scope to add
    ApiException 400/403/404/409  FatalCrmError
    client-side ApiTypeError/ApiValueError  FatalCrmError (a bug in the request we built)
"""

from __future__ import annotations

import json
import re
from typing import Any

import urllib3

from territory.connector.errors import (
    CrmError,
    FatalCrmError,
    RetriableCrmError,
    SessionExpiredError,
)

CRM = "hubspot"
_SCOPE_RE = re.compile(r"\b(crm\.[a-z_.]+\.(?:read|write))\b")


def is_client_error(exc: BaseException) -> bool:
    """True for anything the HubSpot client or its urllib3 transport raises."""
    if isinstance(exc, urllib3.exceptions.HTTPError):
        return True
    return type(exc).__module__.startswith("hubspot.")


def parse_body(body: Any) -> dict[str, Any]:
    """The JSON error body as a dict ({} when absent or not JSON)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        return {"message": str(body)[:300]}
    return parsed if isinstance(parsed, dict) else {"message": str(parsed)[:300]}


def missing_scopes(body: dict[str, Any]) -> list[str]:
    """Scope names a MISSING_SCOPES body asks for (context lists, else the message text)."""
    found: list[str] = []
    for detail in body.get("errors") or []:
        context = (detail.get("context") or {}) if isinstance(detail, dict) else {}
        for key in ("requiredGranularScopes", "requiredScopes", "requiredScope"):
            values = context.get(key) or []
            found.extend(values if isinstance(values, list) else [values])
    if not found:
        found = _SCOPE_RE.findall(json.dumps(body))
    return list(dict.fromkeys(str(s) for s in found))


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        value = dict(headers).get(name)
    return None if value is None else str(value)


def _retry_after(headers: Any) -> float | None:
    value = _header(headers, "Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def translate_error(exc: BaseException) -> CrmError:
    """Turn a HubSpot client or urllib3 exception into our taxonomy (never re-raises)."""
    if isinstance(exc, CrmError):
        return exc
    if isinstance(exc, urllib3.exceptions.HTTPError):
        reason = getattr(exc, "reason", None) or exc
        return RetriableCrmError(
            f"connection to HubSpot failed: {type(exc).__name__}: {reason}", crm=CRM,
            next_step="check HUBSPOT_BASE_URL and the network if this keeps happening",
        )
    status = getattr(exc, "status", None)
    if status is None:  # ApiTypeError / ApiValueError: the request we built is wrong
        return FatalCrmError(f"HubSpot client rejected the request: {exc}", crm=CRM)
    return _translate_status(int(status), parse_body(getattr(exc, "body", None)),
                             getattr(exc, "headers", None), str(getattr(exc, "reason", "") or ""))


def _translate_status(status: int, body: dict[str, Any], headers: Any, reason: str) -> CrmError:
    message = str(body.get("message") or reason or f"HTTP {status}")
    category = body.get("category") or body.get("errorType")
    common: dict[str, Any] = {"crm": CRM, "status": status, "code": category}
    if status == 429:
        policy = str(body.get("policyName") or "")
        if policy.upper() == "DAILY":
            return FatalCrmError(message, **common,
                                 next_step="the daily HubSpot API limit is used up: run again tomorrow")
        return RetriableCrmError(message, retry_after=_retry_after(headers), **common)
    if status >= 500:
        return RetriableCrmError(message, retry_after=_retry_after(headers), **common)
    if status == 401:
        return SessionExpiredError(message, **common)
    if status == 403:
        scopes = missing_scopes(body)
        if category == "MISSING_SCOPES" or scopes:
            names = ", ".join(scopes) or "a required scope"
            return FatalCrmError(
                f"HubSpot token lacks scope {names}", **common,
                next_step=f"add {names} to the private app's scopes in HubSpot "
                          "(Settings > Integrations > Private Apps), then update HUBSPOT_ACCESS_TOKEN",
            )
        return FatalCrmError(message, **common,
                             next_step="give the private app's user access to these records")
    if status == 0:
        return FatalCrmError(f"TLS problem talking to HubSpot: {reason}", **common,
                             next_step="check HUBSPOT_BASE_URL and the CA bundle")
    hint = {
        400: "the request was rejected as malformed; report this with the correlation id",
        404: "check HUBSPOT_BASE_URL (it must be the API host, e.g. https://api.hubapi.com)",
        409: "the record conflicts with an existing one",
    }.get(status)
    correlation = body.get("correlationId")
    if correlation:
        message = f"{message} (correlationId {correlation})"
    return FatalCrmError(message, **common, next_step=hint)
