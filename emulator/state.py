"""The emulator's in-memory CRM: one data set, viewed through the Salesforce and HubSpot APIs.

Records are keyed by an integer ``n``; :func:`sf_id` and :func:`hs_id` render the id each
API shows. Every mutation goes through :class:`CrmState` methods under one lock and bumps
``modified_at`` with the emulator clock, as a human edit in the CRM would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from territory.emulator.store import RecordStore, Schema

SF_PREFIX = {"owner": "005", "account": "001", "opportunity": "006", "task": "00T", "note": "069"}
_SF_SUFFIX = "AAA"
HUBSPOT_PORTAL_ID = 4242  # the emulated HubSpot account: hubId in token info, HUBSPOT_PORTAL_ID in env()
_LEGACY_TABLES = ("owner", "account", "opportunity", "task", "note")


def register_prefix(kind: str, prefix: str) -> None:
    """Let :func:`sf_id` and :func:`parse_sf_id` spell ids of a schema-defined ``kind``."""
    SF_PREFIX.setdefault(kind, prefix)


def sf_id(kind: str, n: int) -> str:
    """18-character Salesforce id for record ``n`` of ``kind``."""
    return f"{SF_PREFIX[kind]}{n:012d}{_SF_SUFFIX}"


def parse_sf_id(value: str) -> tuple[str, int] | None:
    """Inverse of :func:`sf_id`; accepts 15- and 18-character forms. None if malformed."""
    if len(value) not in (15, 18) or not value[3:15].isdigit():
        return None
    for kind, prefix in SF_PREFIX.items():
        if value.startswith(prefix):
            return kind, int(value[3:15])
    return None


def hs_id(kind: str, n: int) -> str:
    """HubSpot id (numeric string) for record ``n``; owners' userId is ``n + 1_000_000``."""
    return str(n)


@dataclass
class EmuOwner:
    n: int
    first_name: str
    last_name: str
    email: str
    is_active: bool = True
    manager_n: int | None = None
    role: str = "rep"  # "rep" | "admin" | "integration" (managers are reps others report to)
    teams: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    modified_at: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))


@dataclass
class EmuAccount:
    n: int
    name: str
    owner_n: int | None
    domain: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None
    lat: float | None = None
    lon: float | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: float | None = None
    parent_n: int | None = None
    created_at: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    modified_at: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    deleted: bool = False
    malformed: bool = False  # served with a broken value to exercise skip handling


@dataclass
class EmuOpportunity:
    n: int
    name: str
    account_n: int | None
    owner_n: int | None
    amount: float | None
    stage: str
    close_date: date
    is_closed: bool = False
    created_at: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    modified_at: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    deleted: bool = False


@dataclass
class EmuActivity:
    """A task or note attached to an account."""

    n: int
    kind: str  # "task" | "note"
    account_n: int | None
    owner_n: int | None
    subject: str
    body: str
    status: str = "Not Started"
    extra: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    modified_at: datetime = field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    deleted: bool = False


def record_kind(record: Any) -> str:
    """The table kind of any record (``"account"``, ``"task"``, ``"contact"``, ...)."""
    kind = getattr(record, "kind", None)
    if isinstance(kind, str):
        return kind
    return type(record).__name__.removeprefix("Emu").lower()


class CrmState:
    """All records plus the clock, guarded by one re-entrant lock."""

    def __init__(self, start: datetime | None = None) -> None:
        self.lock = threading.RLock()
        self.owners: dict[int, EmuOwner] = {}
        self.accounts: dict[int, EmuAccount] = {}
        self.opportunities: dict[int, EmuOpportunity] = {}
        self.activities: dict[int, EmuActivity] = {}
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._next_n = 1
        self.api_calls: dict[str, int] = {"salesforce": 0, "hubspot": 0}
        self.daily_limit = 5_000_000
        self.schema = Schema()
        self.store = RecordStore()
        self.integration_n: int | None = None  # the user the API token belongs to, once provisioned
        self.admin_n: int | None = None

    # clock -------------------------------------------------------------------------------
    def tick(self, ms: int = 1) -> datetime:
        """Advance the clock by ``ms`` milliseconds and return the new time."""
        with self.lock:
            self._now += timedelta(milliseconds=ms)
            return self._now

    def now(self) -> datetime:
        return self._now

    def next_n(self) -> int:
        with self.lock:
            n = self._next_n
            self._next_n += 1
            return n

    # human-like edits --------------------------------------------------------------------
    def touch(self, record: Any, **changes: Any) -> Any:
        """Apply ``changes`` to ``record`` and bump its modified time, like a CRM edit.

        Two keys are not attributes: ``extension`` (values of fields added at run time) and
        ``property_history`` (a :class:`~territory.emulator.store.Change` template plus the
        written HubSpot values, noted with the new modified time).
        """
        with self.lock:
            extension = changes.pop("extension", None)
            history = changes.pop("property_history", None)
            for key, value in changes.items():
                if not hasattr(record, key):
                    raise KeyError(f"{type(record).__name__} has no field {key!r}")
                setattr(record, key, value)
            record.modified_at = self.tick()
            self.note_extras(record, extension, history)
            return record

    def note_extras(self, record: Any, extension: dict[str, Any] | None, history: Any) -> None:
        """Store run-time field values and HubSpot property history for ``record``."""
        kind = record_kind(record)
        if extension:
            self.store.extension_values(kind, record.n).update(extension)
        if history:
            template, values = history
            for name, value in values.items():
                self.store.note_property(kind, record.n, name, replace(template, value=value,
                                                                         timestamp=record.modified_at))

    def delete(self, record: Any) -> None:
        """Soft-delete (Salesforce recycle bin / HubSpot archive)."""
        self.touch(record, deleted=True)

    def table(self, kind: str) -> dict[int, Any]:
        if kind not in _LEGACY_TABLES:
            return self.store.table(kind)
        return {
            "owner": self.owners,
            "account": self.accounts,
            "opportunity": self.opportunities,
            "task": self.activities,
            "note": self.activities,
        }[kind]
