"""Doctor support for HubSpot: token validity, granted scopes and daily API usage.

Scopes come from the private-app token-info endpoint
(``POST /oauth/v2/private-apps/get/access-token-info``), which the generated client has no
method for, so it is called through the client's own ``ApiClient.call_api``. Where that
endpoint is unavailable, read scopes are probed with ``limit=1`` reads instead.
"""

from __future__ import annotations

from territory.connector.errors import CrmError, FatalCrmError
from territory.connector.hubspot.client import HubSpotClient
from territory.connector.records import ApiUsage
from territory.connector.retry import RetryPolicy

TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"
USAGE_WARN_SHARE = 0.9
DOCTOR_POLICY = RetryPolicy(max_attempts=3, base_wait=0.5, max_wait=2.0, max_retry_after=5.0)

# (check name, scope, what the agent needs it for)
REQUIRED_SCOPES = (
    ("companies read", "crm.objects.companies.read", "sync companies"),
    ("deals read", "crm.objects.deals.read", "sync deals"),
    ("owners read", "crm.objects.owners.read", "sync owners"),
    ("companies write", "crm.objects.companies.write", "write owner changes back"),
    ("tasks/notes read", "crm.objects.contacts.read", "read back our tasks and notes"),
    ("tasks/notes write", "crm.objects.contacts.write", "create tasks and notes"),
)
_PROBES = {
    "crm.objects.companies.read": "companies.basic",
    "crm.objects.deals.read": "deals.basic",
    "crm.objects.owners.read": "owners",
}


def fetch_usage(client: HubSpotClient) -> ApiUsage:
    """Daily usage from the last response's ``X-HubSpot-RateLimit-Daily*`` headers.

    Costs one cheap call when no response carried them yet. OAuth apps get no daily
    headers; then used/limit are None.
    """
    if not client.last_headers:
        owners = client.api("owners")
        client.call(lambda kw: owners.get_page(limit=1, **kw))
    headers = client.last_headers
    try:
        limit = int(headers["x-hubspot-ratelimit-daily"])
        remaining = int(headers["x-hubspot-ratelimit-daily-remaining"])
    except (KeyError, ValueError):
        return ApiUsage(used=None, limit=None, calls_this_run=client.api_calls)
    return ApiUsage(used=max(0, limit - remaining), limit=limit, calls_this_run=client.api_calls)


def check_access(client: HubSpotClient) -> list[tuple[str, bool, str]]:
    """Doctor checks: token, each scope the agent needs, and API usage left.

    Runs with a short retry policy: an unreachable host should fail the check in seconds,
    not after the minute of back-off a sync would spend.
    """
    saved, client.policy = client.policy, DOCTOR_POLICY
    try:
        return _checks(client)
    finally:
        client.policy = saved


def _checks(client: HubSpotClient) -> list[tuple[str, bool, str]]:
    checks: list[tuple[str, bool, str]] = []
    try:
        info = client.call_raw(TOKEN_INFO_PATH, "POST", {"tokenKey": client.access_token}).data or {}
        scopes: set[str] | None = set(info.get("scopes") or [])
        checks.append(("hubspot token", True, f"valid private-app token for portal {info.get('hubId', '?')}"))
    except FatalCrmError as exc:
        if exc.status == 401:
            return [("hubspot token", False, str(exc))]
        scopes = None  # token info not offered here: probe reads instead
    except CrmError as exc:
        return [("hubspot token", False, f"HubSpot not reachable: {exc}")]
    if scopes is None:
        checks.extend(_probe_scopes(client))
    else:
        for name, scope, purpose in REQUIRED_SCOPES:
            if scope in scopes:
                checks.append((f"scope {name}", True, scope))
            else:
                checks.append((f"scope {name}", False,
                               f"missing {scope} (needed to {purpose}): add it to the private app's "
                               "scopes in HubSpot, then update HUBSPOT_ACCESS_TOKEN"))
    checks.append(_usage_check(client))
    return checks


def _probe_scopes(client: HubSpotClient) -> list[tuple[str, bool, str]]:
    out: list[tuple[str, bool, str]] = []
    for name, scope, _purpose in REQUIRED_SCOPES:
        api_name = _PROBES.get(scope)
        if api_name is None:
            out.append((f"scope {name}", True, f"{scope}: not verifiable without token info"))
            continue
        api = client.api(api_name)
        try:
            client.call(lambda kw: api.get_page(limit=1, **kw))
            out.append((f"scope {name}", True, scope))
        except CrmError as exc:
            out.append((f"scope {name}", False, f"{exc}"))
    token_ok = any(passed for _, passed, _ in out[:3])  # any successful read proves the token
    out.insert(0, ("hubspot token", token_ok, "accepted" if token_ok else "no read succeeded"))
    return out


def _usage_check(client: HubSpotClient) -> tuple[str, bool, str]:
    try:
        usage = fetch_usage(client)
    except CrmError as exc:
        return ("api usage", False, f"could not read usage: {exc}")
    if usage.limit is None or usage.used is None:
        return ("api usage", True, "daily limit not reported (OAuth app)")
    share = usage.used / usage.limit if usage.limit else 0.0
    detail = f"{usage.limit - usage.used:,} of {usage.limit:,} daily calls left"
    if share >= USAGE_WARN_SHARE:
        return ("api usage", False, f"{detail}: wait for the daily reset before a full sync")
    return ("api usage", True, detail)
