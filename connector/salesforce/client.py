"""Building the simple-salesforce client and the HTTP session under it.

The session counts every HTTP request (attempts included) and remembers the last
``Retry-After`` header, because simple-salesforce's exceptions do not carry headers. When
``TERRITORY_CA_FILE`` is set (the built-in emulator writes it) the session trusts exactly
that CA and ignores ``REQUESTS_CA_BUNDLE``/proxy variables, which would otherwise override
``session.verify``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from territory.config.settings import Settings

DEFAULT_TIMEOUT = (10.0, 120.0)  # connect, read seconds: a hung socket must not hang the sync


class CountingAdapter(HTTPAdapter):
    """An HTTPAdapter that counts requests and keeps the last Retry-After hint."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls = 0
        self.last_retry_after: float | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.calls += 1
        self.last_retry_after = None
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = DEFAULT_TIMEOUT
        response = super().send(request, **kwargs)
        self.last_retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return response


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def build_session(settings: Settings) -> tuple[requests.Session, CountingAdapter]:
    """A requests session for Salesforce, trusting the emulator CA only when configured."""
    session = requests.Session()
    if settings.territory_ca_file is not None:
        session.trust_env = False
        session.verify = str(settings.territory_ca_file)
    adapter = CountingAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter


def build_client(settings: Settings, session: requests.Session) -> Salesforce:
    """A simple-salesforce client for whichever auth mode the settings describe.

    Password and JWT modes log in here (network I/O); simple-salesforce then re-logs in on
    its own when a session expires. Session mode uses the token as is.
    """
    common: dict[str, Any] = {
        "session": session,
        "version": settings.sf_api_version,
        # None = json's C fast path with plain dicts (the OrderedDict default is ~3x slower)
        "object_pairs_hook": None,
    }
    mode = settings.salesforce_auth_mode()
    if mode == "session":
        assert settings.sf_access_token is not None
        return Salesforce(
            instance_url=settings.sf_instance_url,
            session_id=settings.sf_access_token.get_secret_value(),
            **common,
        )
    if mode == "jwt":
        return Salesforce(
            username=settings.sf_username,
            consumer_key=settings.sf_client_id,
            privatekey_file=str(settings.sf_private_key_file),
            domain=settings.sf_domain,
            **common,
        )
    assert settings.sf_password is not None and settings.sf_security_token is not None
    return Salesforce(
        username=settings.sf_username,
        password=settings.sf_password.get_secret_value(),
        security_token=settings.sf_security_token.get_secret_value(),
        domain=settings.sf_domain,
        **common,
    )
