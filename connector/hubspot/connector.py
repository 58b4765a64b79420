"""``HubSpotConnector``: the :class:`~connector.base.CrmConnector` for HubSpot portals."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta

from territory.config.settings import Settings, SettingsError
from territory.connector.hubspot import access
from territory.connector.hubspot.client import HubSpotClient
from territory.connector.hubspot.reads import SEARCH_CAP, SPECS, HubSpotReader
from territory.connector.hubspot.writes import HubSpotWriter
from territory.connector.records import (
    ActivityRecord,
    ActivityRequest,
    ApiUsage,
    ChangeCursor,
    ChangePage,
    ObjectKind,
    OwnerChange,
    WriteResult,
)
from territory.connector.retry import DEFAULT_POLICY, RetryPolicy


class HubSpotConnector:
    """Reads and writes a HubSpot portal through the official ``hubspot-api-client``.

    Args:
        access_token: private-app access token.
        host: API base URL; None for HubSpot itself (``https://api.hubapi.com``).
        policy: retry policy for every call.
        sleep: injected into retries (tests pass a recorder).
        search_cap: results HubSpot lets search page through (10,000).
        search_lag: how far the search index may lag writes; committed cursors stay this
            far behind the server's clock.
    """

    crm = "hubspot"

    def __init__(
        self,
        access_token: str,
        host: str | None = None,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[BaseException, float], None] | None = None,
        search_cap: int = SEARCH_CAP,
        search_lag: timedelta = timedelta(seconds=60),
    ) -> None:
        self.client = HubSpotClient(access_token, host, policy=policy, sleep=sleep, on_retry=on_retry)
        self.reader = HubSpotReader(self.client, search_cap=search_cap, search_lag=search_lag)
        self.writer = HubSpotWriter(self.client)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: object) -> HubSpotConnector:
        """Build from ``HUBSPOT_ACCESS_TOKEN`` and the optional ``HUBSPOT_BASE_URL``.

        Raises:
            config.SettingsError: no token configured.
        """
        if settings.hubspot_access_token is None:
            raise SettingsError("HUBSPOT_ACCESS_TOKEN",
                                "not set: create a private app and set its access token")
        return cls(settings.hubspot_access_token.get_secret_value(), settings.hubspot_base_url,
                   **kwargs)  # type: ignore[arg-type]

    @property
    def api_calls(self) -> int:
        """HTTP calls made so far (every attempt, retries included)."""
        return self.client.api_calls

    def iter_changes(
        self, kind: ObjectKind, cursor: ChangeCursor | None, *, full: bool = False
    ) -> Iterator[ChangePage]:
        """Pages of changes after ``cursor``; see :mod:`connector.hubspot.reads`."""
        if kind is ObjectKind.OWNERS:
            return self.reader.iter_owners(cursor, full)
        return self.reader.iter_objects(SPECS[kind], cursor, full)

    def apply_owner_changes(self, changes: Sequence[OwnerChange]) -> list[WriteResult]:
        """Set ``hubspot_owner_id``; a company whose owner moved on is skipped (OWNER_CHANGED)."""
        return self.writer.apply_owner_changes(changes)

    def apply_activities(self, requests: Sequence[ActivityRequest]) -> list[WriteResult]:
        """Create tasks/notes on companies, marked ``[territory:KEY]``."""
        return self.writer.apply_activities(requests)

    def fetch_activities(self, account_ids: Sequence[str]) -> list[ActivityRecord]:
        """Tasks and notes on these companies with our marker parsed back."""
        return self.writer.fetch_activities(account_ids)

    def complete_activities(self, activity_ids: Sequence[str]) -> list[WriteResult]:
        """Set ``hs_task_status`` to COMPLETED."""
        return self.writer.complete_activities(activity_ids)

    def fetch_usage(self) -> ApiUsage:
        """Daily API usage from HubSpot's rate-limit headers."""
        return access.fetch_usage(self.client)

    def check_access(self) -> list[tuple[str, bool, str]]:
        """Token, scopes and usage checks for ``territory doctor``."""
        return access.check_access(self.client)
