"""``HubSpotConnector``: the :class:`~connector.base.CrmConnector` for HubSpot portals."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from territory.config.settings import Settings, SettingsError
from territory.connector.activity_log import ActivityChange
from territory.connector.hubspot import access, activity_read
from territory.connector.hubspot.accounts import CompanyCreator
from territory.connector.hubspot.approval import STATUS, HubSpotApproval
from territory.connector.hubspot.client import HubSpotClient
from territory.connector.hubspot.reads import SEARCH_CAP, SPECS, HubSpotReader
from territory.connector.hubspot.writes import HubSpotWriter
from territory.connector.market import NewAccount
from territory.connector.proposals import (
    ChildMove,
    ChildMoveResult,
    DecisionPage,
    InstallStep,
    ProposalRecord,
    ProposalRef,
    ProposalUpdate,
    UiEdit,
)
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
    visit_mode_field: str | None = None  # company property read as each account's visit mode (set by sync)

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
        self.approval = HubSpotApproval(self.client, self.writer)
        self.companies = CompanyCreator(self.client, self.writer)

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

    @property
    def on_retry(self) -> Callable[[BaseException, float], None] | None:
        """Observer told (error, wait seconds) before each retry, e.g. for progress output."""
        return self.client.on_retry

    @on_retry.setter
    def on_retry(self, observer: Callable[[BaseException, float], None] | None) -> None:
        self.client.on_retry = observer

    def iter_changes(
        self, kind: ObjectKind, cursor: ChangeCursor | None, *, full: bool = False
    ) -> Iterator[ChangePage]:
        """Pages of changes after ``cursor``; see :mod:`connector.hubspot.reads`."""
        if kind is ObjectKind.OWNERS:
            return self.reader.iter_owners(cursor, full)
        spec = SPECS[kind]
        if kind is ObjectKind.ACCOUNTS and self.visit_mode_field:
            spec = replace(spec, properties=[*spec.properties, self.visit_mode_field],
                           visit_mode_property=self.visit_mode_field)
        return self.reader.iter_objects(spec, cursor, full)

    def iter_activity_changes(self, since: datetime | None) -> Iterator[list[ActivityChange]]:
        """Tasks, notes, meetings and calls changed since ``since``, for the report's counts."""
        return activity_read.iter_activity_changes(self.client, since, search_cap=self.reader.search_cap)

    def apply_owner_changes(self, changes: Sequence[OwnerChange]) -> list[WriteResult]:
        """Set ``hubspot_owner_id``; a company whose owner moved on is skipped (OWNER_CHANGED)."""
        return self.writer.apply_owner_changes(changes)

    def apply_activities(self, requests: Sequence[ActivityRequest]) -> list[WriteResult]:
        """Create tasks/notes on companies, marked ``[territory:KEY]``."""
        return self.writer.apply_activities(requests)

    def create_accounts(self, requests: Sequence[NewAccount]) -> list[WriteResult]:
        """Create companies for market prospects, the key marker in ``description`` (exactly once)."""
        return self.companies.create(requests)

    def find_created_accounts(self, requests: Sequence[NewAccount]) -> dict[str, str]:
        """Key -> company id of the requests already created."""
        return self.companies.find(requests)

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

    # approval loop ---------------------------------------------------------------------------
    def install(self, *, dry_run: bool, approvers: Sequence[str] = ()) -> list[InstallStep]:
        """The property group and proposal properties on companies (HubSpot has no
        per-property permissions below Enterprise: approvers are checked by the agent)."""
        return self.approval.install(dry_run=dry_run)

    def uninstall(self, *, dry_run: bool) -> list[InstallStep]:
        """Archive the proposal properties and their group."""
        return self.approval.uninstall(dry_run=dry_run)

    def check_install(self) -> list[tuple[str, bool, str]]:
        """Doctor checks for the installed properties."""
        return self.approval.check()

    def count_open_proposals(self) -> int:
        """Companies whose proposal is still proposed or approved (0 when not installed)."""
        if not self.approval._property_exists("tr_status"):
            return 0
        return self.approval.count_open()

    def publish_proposals(self, items: Sequence[ProposalRecord]) -> list[WriteResult]:
        """Batch update of the proposal properties, 100 per call."""
        return self.approval.publish(items)

    def fetch_decisions(self, refs: Sequence[ProposalRef], cursor: datetime | None) -> DecisionPage:
        """``tr_status`` history of the proposals' companies (batch read, 100 per call)."""
        return self.approval.fetch_decisions(refs)

    def agent_user_ids(self) -> set[str]:
        """None: the private app's writes carry no user (sourceType INTEGRATION)."""
        return set()

    def update_proposals(self, updates: Sequence[ProposalUpdate]) -> list[WriteResult]:
        """Status and note properties, 100 per call."""
        return self.approval.update(updates)

    def move_children(self, moves: Sequence[ChildMove]) -> list[ChildMoveResult]:
        """Contacts, and open deals where asked, still owned by the old owner."""
        return self.approval.move_children(moves)

    def fetch_user_names(self) -> dict[str, str]:
        """Owner id -> name."""
        return self.approval.user_names()

    def fetch_current_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        """Company id -> hubspot_owner_id now."""
        return self.approval.current_owners(account_ids)

    def status_edit(self, crm_record_id: str, status: str) -> UiEdit:
        """The company's proposal status property (its internal option value)."""
        return UiEdit("companies", crm_record_id, {STATUS: status.lower()})

    def owner_edit(self, account_id: str, owner_id: str) -> UiEdit:
        """Company owner on the company record."""
        return UiEdit("companies", account_id, {"hubspot_owner_id": owner_id})
