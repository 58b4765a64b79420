"""``SalesforceConnector``: the :class:`~connector.base.CrmConnector` for Salesforce.

Every client call goes through :meth:`SalesforceConnector._call`: exceptions are translated
once (``connector.salesforce.errors``) and retried per the shared policy; an expired session
rebuilds the client once. In session mode (``SF_ACCESS_TOKEN``) a rebuild reuses the same
token, which survives a transient 401 and otherwise ends in a clear fatal error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import requests
from jwt.exceptions import PyJWTError
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from territory.config.settings import Settings
from territory.connector.activity_log import ActivityChange
from territory.connector.errors import CrmError, FatalCrmError, SessionExpiredError
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
from territory.connector.retry import DEFAULT_POLICY, RetryPolicy, call_with_retry
from territory.connector.salesforce import accounts, activity_read, proposals, writer
from territory.connector.salesforce.approval_schema import (
    OBJECT,
    STATUS_FIELD,
    SalesforceApprovalSchema,
)
from territory.connector.salesforce.client import build_client, build_session
from territory.connector.salesforce.errors import translate_error, translate_metadata_error
from territory.connector.salesforce.mapping import quota_value
from territory.connector.salesforce.reader import iter_change_pages
from territory.connector.salesforce.soql import owner_spec, probe_query, quota_query

T = TypeVar("T")
SESSION_RENEWALS = 3  # rounds of (re-authenticate, retry) before an expired session is fatal
LOW_USAGE_SHARE = 0.1  # doctor warns when less than 10% of the daily API calls are left


class SalesforceConnector:
    """Reads and writes Salesforce through simple-salesforce.

    Args:
        settings: the agent settings (auth mode, instance, API version, CA file).
        policy: retry policy for retriable errors.
        sleep: injected for tests so retries do not wait.
    """

    crm = "salesforce"
    visit_mode_field: str | None = None  # Account field read as each account's visit mode (set by sync)

    def __init__(
        self, settings: Settings, *, policy: RetryPolicy = DEFAULT_POLICY, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.settings = settings
        self.policy = policy
        self._sleep = sleep
        self.session, self._adapter = build_session(settings)
        self._sf: Salesforce | None = None
        self._agent_ids: set[str] | None = None
        self.on_retry: Callable[[BaseException, float], None] | None = None  # (error, wait s), for progress

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> SalesforceConnector:
        """Build from settings; raises SettingsError when credentials are incomplete."""
        settings.salesforce_auth_mode()
        return cls(settings, **kwargs)

    @property
    def api_calls(self) -> int:
        """HTTP requests sent by this connector, retries and logins included."""
        return self._adapter.calls

    # calling -----------------------------------------------------------------------------
    def _client(self) -> Salesforce:
        if self._sf is None:
            try:
                self._sf = build_client(self.settings, self.session)
            except requests.RequestException:
                raise  # the login could not reach Salesforce: a network error, translated by the caller
            except (ValueError, OSError, PyJWTError) as exc:  # e.g. an unreadable or malformed JWT key
                key = "SF_PRIVATE_KEY_FILE (PEM RSA private key), " if self.settings.salesforce_auth_mode() == "jwt" else ""
                raise FatalCrmError(
                    f"cannot set up the Salesforce client: {type(exc).__name__}: {exc}", crm=self.crm,
                    next_step=f"check {key}SF_INSTANCE_URL and SF_API_VERSION",
                ) from exc
        return self._sf

    def close(self) -> None:
        """Release the HTTP connections."""
        self.session.close()

    def _call_once(self, fn: Callable[[Salesforce], T], what: str = "") -> T:
        try:
            return fn(self._client())
        except (SalesforceError, requests.RequestException) as exc:
            raise translate_error(exc, retry_after=self._adapter.last_retry_after, what=what) from exc

    def _retry(self, unit: Callable[[], T]) -> T:
        # The shared policy re-authenticates once per call. A flaky gateway (or the emulator's
        # --fault-rate) can send two stray 401s in a row, so the connector grants a few fresh
        # rounds, as simple-salesforce's own re-login does (3); a dead token still fails fast.
        for round_ in range(1, SESSION_RENEWALS + 1):
            try:
                return call_with_retry(unit, policy=self.policy, reauthenticate=self._reauthenticate, sleep=self._sleep,
                                       on_retry=self.on_retry)
            except FatalCrmError as exc:
                if not isinstance(exc.__cause__, SessionExpiredError):
                    raise
                if round_ == SESSION_RENEWALS:
                    raise self._expired(exc.__cause__) from exc
                self._reauthenticate()
        raise AssertionError("unreachable")

    def _call(self, fn: Callable[[Salesforce], T], what: str = "") -> T:
        return self._retry(lambda: self._call_once(fn, what))

    def _reauthenticate(self) -> None:
        self._sf = None  # rebuilt (and, outside session mode, logged in again) on the next call

    def _expired(self, cause: SessionExpiredError) -> FatalCrmError:
        if self.settings.salesforce_auth_mode() == "session":
            return FatalCrmError(
                f"Salesforce rejected SF_ACCESS_TOKEN ({cause.code}): the token is wrong, revoked or expired",
                crm=self.crm,
                status=cause.status, code=cause.code,
                next_step="get a fresh access token (e.g. `sf org display`) and set SF_ACCESS_TOKEN, or use "
                "SF_USERNAME + SF_PASSWORD + SF_SECURITY_TOKEN / JWT so the agent can log in by itself",
            )
        return FatalCrmError(
            f"Salesforce rejected the session right after a fresh login ({cause.code})", crm=self.crm,
            status=cause.status, code=cause.code, next_step="check the integration user's login and its session settings",
        )

    # reads -------------------------------------------------------------------------------
    def iter_changes(self, kind: ObjectKind, cursor: ChangeCursor | None, *, full: bool = False) -> Iterator[ChangePage]:
        """Pages of changed records; see :mod:`connector.salesforce.reader` for the cursor rules."""
        spec = owner_spec(self.settings.territory_quota_field) if ObjectKind(kind) is ObjectKind.OWNERS else None
        return iter_change_pages(self._call, ObjectKind(kind), cursor, full=full, spec=spec,
                                 visit_mode_field=self.visit_mode_field)

    def fetch_owner_quotas(self) -> dict[str, float | None] | None:
        """Every user's quota from the User field ``TERRITORY_QUOTA_FIELD`` names (None: no field
        named). Read whole each sync (users are few): a user whose record has not changed since
        the field was named would not show up in an incremental read."""
        field = self.settings.territory_quota_field
        if not field:
            return None
        rows = self._call(lambda sf: sf.query_all(quota_query(field)), f"read User.{field}")["records"]
        return {row["Id"]: quota_value(row, field) for row in rows}

    def iter_activity_changes(self, since: datetime | None) -> Iterator[list[ActivityChange]]:
        """Tasks and Events changed since ``since``, for the report's activity counts."""
        return activity_read.iter_activity_changes(self._call, since)

    def fetch_activities(self, account_ids: Sequence[str]) -> list[ActivityRecord]:
        """Tasks on these accounts with our ``[territory:KEY]`` marker parsed back."""
        return writer.fetch_activities(self._call, account_ids)

    def fetch_usage(self) -> ApiUsage:
        """Daily API usage from the last ``Sforce-Limit-Info`` header, else one ``limits/`` call."""
        usage = self._sf.api_usage.get("api-usage") if self._sf is not None else None
        if usage is not None:
            return ApiUsage(used=usage.used, limit=usage.total, calls_this_run=self.api_calls)
        limits = self._call(lambda sf: sf.limits(), "read API limits")
        daily = limits.get("DailyApiRequests", {})
        limit, remaining = daily.get("Max"), daily.get("Remaining")
        used = limit - remaining if limit is not None and remaining is not None else None
        return ApiUsage(used=used, limit=limit, calls_this_run=self.api_calls)

    # writes ------------------------------------------------------------------------------
    def apply_owner_changes(self, changes: Sequence[OwnerChange]) -> list[WriteResult]:
        """Guarded owner write-back via sObject Collections (200 per call)."""
        return writer.apply_owner_changes(self._call, changes)

    def apply_activities(self, requests_: Sequence[ActivityRequest]) -> list[WriteResult]:
        """Create Tasks (notes become completed Tasks) with the key marker in the subject."""
        return writer.apply_activities(self._call, self._call_once, self._retry, requests_)

    def complete_activities(self, activity_ids: Sequence[str]) -> list[WriteResult]:
        """Mark Tasks completed."""
        return writer.complete_activities(self._call, activity_ids)

    def create_accounts(self, requests_: Sequence[NewAccount]) -> list[WriteResult]:
        """Create Accounts for market prospects, the key marker in Description (exactly once)."""
        return accounts.create_accounts(self._call, self._call_once, self._retry, requests_)

    def find_created_accounts(self, requests_: Sequence[NewAccount]) -> dict[str, str]:
        """Key -> Account id of the requests already created."""
        return accounts.find_created(self._call, requests_)

    # approval loop -----------------------------------------------------------------------
    def _metadata(self, fn: Callable[[Any], T], what: str = "") -> T:
        """Run ``fn(sf.mdapi)``; zeep gets our session (its own would ignore the CA we trust
        and our call counting), and its plain exceptions are translated like REST ones."""

        def once() -> T:
            mdapi = self._client().mdapi
            transport = getattr(getattr(mdapi, "_client", None), "transport", None)
            if transport is not None and transport.session is not self.session:
                transport.session = self.session
            try:
                return fn(mdapi)
            except (SalesforceError, requests.RequestException) as exc:
                raise translate_error(exc, retry_after=self._adapter.last_retry_after, what=what) from exc
            except Exception as exc:
                raise translate_metadata_error(exc, what) from exc

        return self._retry(once)

    @property
    def _schema(self) -> SalesforceApprovalSchema:
        return SalesforceApprovalSchema(self._call, self._metadata)

    def install(self, *, dry_run: bool, approvers: Sequence[str] = ()) -> list[InstallStep]:
        """Custom object, list view, approver permission set and its assignments."""
        return self._schema.install(dry_run=dry_run, approvers=approvers)

    def uninstall(self, *, dry_run: bool) -> list[InstallStep]:
        """Remove exactly what install created."""
        return self._schema.uninstall(dry_run=dry_run)

    def check_install(self) -> list[tuple[str, bool, str]]:
        """Doctor checks for the installed components."""
        return self._schema.check()

    def approver_ids(self) -> set[str]:
        """Users holding the approver permission set."""
        return self._schema.approver_ids()

    def count_open_proposals(self) -> int:
        """Proposal records still Proposed or Approved (0 when not installed)."""
        if self._schema.described_fields() is None:
            return 0
        return proposals.count_open(self._call)

    def publish_proposals(self, items: Sequence[ProposalRecord]) -> list[WriteResult]:
        """Collections upsert by the proposal key, 200 per call."""
        return proposals.publish(self._call, items)

    def fetch_decisions(self, refs: Sequence[ProposalRef], cursor: datetime | None) -> DecisionPage:
        """Status history rows of these proposals since ``cursor``."""
        return proposals.fetch_decisions(self._call, refs, cursor)

    def agent_user_ids(self) -> set[str]:
        """The integration user (creator of the proposal records)."""
        if self._agent_ids is None or not self._agent_ids:
            self._agent_ids = proposals.agent_user_ids(self._call)
        return set(self._agent_ids)

    def update_proposals(self, updates: Sequence[ProposalUpdate]) -> list[WriteResult]:
        """Statuses, notes, decider and times, 200 per call."""
        return proposals.update(self._call, updates)

    def move_children(self, moves: Sequence[ChildMove]) -> list[ChildMoveResult]:
        """Contacts, and open opportunities where asked, of the old owner."""
        return proposals.move_children(self._call, moves)

    def fetch_user_names(self) -> dict[str, str]:
        """User id -> name."""
        return proposals.user_names(self._call)

    def fetch_current_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        """Account id -> OwnerId now."""
        return writer.current_owners(self._call, account_ids)

    def status_edit(self, crm_record_id: str, status: str) -> UiEdit:
        """Status__c on the proposal record (list view inline edit or record page)."""
        return UiEdit(OBJECT, crm_record_id, {STATUS_FIELD: status})

    def owner_edit(self, account_id: str, owner_id: str) -> UiEdit:
        """Change Owner on the account page."""
        return UiEdit("Account", account_id, {"OwnerId": owner_id})

    # doctor ------------------------------------------------------------------------------
    def check_access(self) -> list[tuple[str, bool, str]]:
        """(check, passed, detail): read access, Account.OwnerId edit, Task create, usage left."""
        checks: list[tuple[str, bool, str]] = []
        for sobject in ("User", "Account", "Opportunity"):
            checks.append(self._check(f"query {sobject}", partial(self._probe, sobject)))
        checks.append(self._check("update Account.OwnerId", self._owner_updateable))
        checks.append(self._check("create Task", self._task_createable))
        checks.append(self._check("API usage left", self._usage_left))
        return checks

    def _check(self, name: str, probe: Callable[[], str]) -> tuple[str, bool, str]:
        try:
            return name, True, probe()
        except CrmError as exc:
            return name, False, str(exc)

    def _probe(self, sobject: str) -> str:
        soql = probe_query(sobject)
        self._call(lambda sf: sf.query(soql), f"query {sobject}")
        return f"the integration user can read {sobject}"

    def _describe(self, sobject: str) -> dict[str, Any]:
        described = self._call(lambda sf: sf.restful(f"sobjects/{sobject}/describe/"), f"describe {sobject}")
        return described or {}

    def _owner_updateable(self) -> str:
        fields = {f["name"]: f for f in self._describe("Account").get("fields", [])}
        if not fields.get("OwnerId", {}).get("updateable"):
            raise FatalCrmError(
                "Account.OwnerId is not updateable for the integration user", crm=self.crm,
                next_step="grant Edit on Account (and Transfer Record) to the integration user",
            )
        return "Account.OwnerId is updateable"

    def _task_createable(self) -> str:
        if not self._describe("Task").get("createable"):
            raise FatalCrmError(
                "Tasks cannot be created by the integration user", crm=self.crm,
                next_step="grant Create on Task (Edit Tasks permission) to the integration user",
            )
        return "Tasks can be created"

    def _usage_left(self) -> str:
        usage = self.fetch_usage()
        if usage.used is None or usage.limit is None:
            return "Salesforce did not report API usage"
        left = usage.limit - usage.used
        detail = f"{left} of {usage.limit} daily API calls left"
        if left < usage.limit * LOW_USAGE_SHARE:
            raise FatalCrmError(detail, crm=self.crm, next_step="wait for calls to free up or raise the org's limit")
        return detail
