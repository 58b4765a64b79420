"""The emulator's in-memory CRM: one data set, viewed through the Salesforce and HubSpot APIs.

Every record is a generic :class:`~territory.emulator.store.Record` in the state's one
:class:`~territory.emulator.store.RecordStore`; the standard objects have typed subclasses
(:class:`EmuOwner`, :class:`EmuAccount`, :class:`EmuOpportunity`, :class:`EmuActivity`) for
their constructors. Records are keyed by an integer ``n``; :func:`sf_id` and :func:`hs_id`
render the id each API shows. Every mutation goes through :class:`CrmState` methods under one lock and bumps
``modified_at`` with the emulator clock, as a human edit in the CRM would.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from territory.emulator.store import Change, Record, RecordStore, Schema
from territory.emulator.store.records import typed_fields

SF_PREFIX = {"owner": "005", "account": "001", "opportunity": "006", "task": "00T", "note": "069"}
_SF_SUFFIX = "AAA"
HUBSPOT_PORTAL_ID = 4242  # the emulated HubSpot account: hubId in token info, HUBSPOT_PORTAL_ID in env()


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


def _t0() -> datetime:
    return datetime(2020, 1, 1, tzinfo=UTC)


@typed_fields
class EmuOwner(Record):
    """A user (Salesforce ``User``, HubSpot owner); role ``rep``, ``admin`` or ``integration``
    (managers are reps others report to)."""

    FIELDS = ("first_name", "last_name", "email", "is_active", "manager_n", "role", "teams")

    def __init__(self, n: int, first_name: str, last_name: str, email: str, is_active: bool = True,
                 manager_n: int | None = None, role: str = "rep", teams: list[str] | None = None,
                 created_at: datetime | None = None, modified_at: datetime | None = None) -> None:
        teams = list(teams or [])
        _init(self, n, "owner", locals(), created_at, modified_at, False)


@typed_fields
class EmuAccount(Record):
    """An account (HubSpot company); ``malformed`` ones are served with a broken value."""

    FIELDS = ("name", "owner_n", "domain", "city", "postal_code", "country", "lat", "lon", "industry",
              "employees", "annual_revenue", "parent_n", "street", "phone", "description", "malformed")

    def __init__(self, n: int, name: str, owner_n: int | None, domain: str | None = None, city: str | None = None,
                 postal_code: str | None = None, country: str | None = None, lat: float | None = None,
                 lon: float | None = None, industry: str | None = None, employees: int | None = None,
                 annual_revenue: float | None = None, parent_n: int | None = None, street: str | None = None,
                 phone: str | None = None, description: str | None = None, created_at: datetime | None = None,
                 modified_at: datetime | None = None, deleted: bool = False, malformed: bool = False) -> None:
        _init(self, n, "account", locals(), created_at, modified_at, deleted)


@typed_fields
class EmuOpportunity(Record):
    """An opportunity (HubSpot deal)."""

    FIELDS = ("name", "account_n", "owner_n", "amount", "stage", "close_date", "is_closed")

    def __init__(self, n: int, name: str, account_n: int | None, owner_n: int | None, amount: float | None,
                 stage: str, close_date: date, is_closed: bool = False, created_at: datetime | None = None,
                 modified_at: datetime | None = None, deleted: bool = False) -> None:
        _init(self, n, "opportunity", locals(), created_at, modified_at, deleted)


@typed_fields
class EmuActivity(Record):
    """A task or note (``kind``) attached to an account (or, in ``extra["what"]``, another record)."""

    FIELDS = ("account_n", "owner_n", "subject", "body", "status", "extra")

    def __init__(self, n: int, kind: str, account_n: int | None, owner_n: int | None, subject: str, body: str,
                 status: str = "Not Started", extra: dict[str, Any] | None = None, created_at: datetime | None = None,
                 modified_at: datetime | None = None, deleted: bool = False) -> None:
        extra = dict(extra or {})
        _init(self, n, kind, locals(), created_at, modified_at, deleted)


def _init(record: Record, n: int, kind: str, scope: dict[str, Any], created_at: datetime | None,
          modified_at: datetime | None, deleted: bool) -> None:
    """Fill a typed record's stamps and values (straight into ``__dict__``: seeding makes many)."""
    record.__dict__.update(n=n, kind=kind, values={name: scope[name] for name in type(record).FIELDS},
                           created_at=created_at or _t0(), modified_at=modified_at or _t0(), deleted=deleted)


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
        self.schema = Schema()
        self.store = RecordStore()
        # every table lives in the one record store; the standard objects' records are typed
        # dataclasses (tasks and notes share one table), all others generic Records
        tables: dict[str, Any] = self.store.tables
        self.owners: dict[int, EmuOwner] = tables.setdefault("owner", {})
        self.accounts: dict[int, EmuAccount] = tables.setdefault("account", {})
        self.opportunities: dict[int, EmuOpportunity] = tables.setdefault("opportunity", {})
        self.activities: dict[int, EmuActivity] = tables.setdefault("task", {})
        tables["note"] = self.activities
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._next_n = 1
        self.api_calls: dict[str, int] = {"salesforce": 0, "hubspot": 0}
        self.daily_limit = 5_000_000
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
        ``property_history`` (a :class:`~territory.emulator.store.Change` template, the written
        HubSpot values, noted with the new modified time, and optionally the earlier values of
        properties without history, noted first as ``IMPORT``).
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
            template, values, *earlier = history  # earlier: values without history yet (IMPORT)
            for name, value in values.items():
                if earlier and name in earlier[0]:
                    self.store.note_property(kind, record.n, name, Change(earlier[0][name], record.created_at, "IMPORT"))
                self.store.note_property(kind, record.n, name, replace(template, value=value,
                                                                         timestamp=record.modified_at))

    def delete(self, record: Any) -> None:
        """Soft-delete (Salesforce recycle bin / HubSpot archive)."""
        self.touch(record, deleted=True)

    def table(self, kind: str) -> dict[int, Any]:
        return self.store.table(kind)
