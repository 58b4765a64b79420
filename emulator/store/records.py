"""Generic records: one table per object kind, values in a dict, every write with its actor.

A :class:`Record` holds any object's values; attribute access falls back to the values, so
views read ``rec.owner_n`` on a Contact as on an account. Every record of every object is a
Record; the standard objects have typed subclasses (``emulator.state``) for their constructors. The
:class:`RecordStore` also keeps, for *every* record of either kind, who created and last
modified it (``audit``), values of fields added at run time to the older dataclass objects
(``extension``), and HubSpot's per-property value history (``property_history``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

SOURCES = ("API", "INTEGRATION", "CRM_UI", "IMPORT", "AUTOMATION_PLATFORM")


@dataclass
class Record:
    """A record of any object: its kind, values and stamps. Typed subclasses (see
    :func:`typed_fields`) name their value fields in ``FIELDS``."""

    FIELDS: ClassVar[tuple[str, ...]] = ()

    n: int
    kind: str
    values: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    modified_at: datetime | None = None
    deleted: bool = False

    def __setattr__(self, name: str, value: Any) -> None:
        # the dataclass fields are attributes; any other name is a value, as reads assume
        if name in _RECORD_FIELDS:
            object.__setattr__(self, name, value)
        else:
            self.values[name] = value

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: read a value, None when never set
        if name.startswith("__"):
            raise AttributeError(name)
        return self.__dict__.get("values", {}).get(name)


_RECORD_FIELDS = frozenset({"n", "kind", "values", "created_at", "modified_at", "deleted"})


def typed_fields(cls: type[Record]) -> type[Record]:
    """Give a :class:`Record` subclass properties for the value names in its ``FIELDS``, so a
    typed record (the standard objects' accounts, owners...) reads like a plain object while its
    values stay in the generic ``values`` dict."""
    for name in cls.FIELDS:
        setattr(cls, name, property(lambda self, key=name: self.values.get(key)))
    return cls


@dataclass
class Audit:
    created_by: int | None = None
    modified_by: int | None = None


@dataclass
class Change:
    """One property value as HubSpot's ``propertiesWithHistory`` lists it."""

    value: str | None
    timestamp: datetime
    source_type: str
    source_id: str | None = None
    user_id: int | None = None


class RecordStore:
    """Tables of generic records plus the audit, extension and history side tables."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[int, Record]] = {}
        self.audit: dict[tuple[str, int], Audit] = {}
        self.extension: dict[tuple[str, int], dict[str, Any]] = {}
        self.property_history: dict[tuple[str, int], dict[str, list[Change]]] = {}
        # HubSpot associations: (type, n) -> {(other type, other n): association type ids}
        self.links: dict[tuple[str, int], dict[tuple[str, int], set[int]]] = {}

    def table(self, kind: str) -> dict[int, Record]:
        return self.tables.setdefault(kind, {})

    def insert(self, kind: str, n: int, values: dict[str, Any], at: datetime, actor: int | None) -> Record:
        rec = Record(n=n, kind=kind, values=dict(values), created_at=at, modified_at=at)
        self.table(kind)[n] = rec
        self.audit[(kind, n)] = Audit(actor, actor)
        return rec

    def stamp(self, kind: str, n: int, actor: int | None, *, created: bool = False) -> None:
        """Record ``actor`` as the last modifier (and creator when ``created``)."""
        audit = self.audit.setdefault((kind, n), Audit())
        if created:
            audit.created_by = actor
        audit.modified_by = actor

    def who(self, kind: str, n: int) -> Audit:
        return self.audit.get((kind, n)) or Audit()

    def extension_values(self, kind: str, n: int) -> dict[str, Any]:
        return self.extension.setdefault((kind, n), {})

    def note_property(self, kind: str, n: int, name: str, change: Change) -> None:
        """Prepend ``change`` to the property's history (newest first)."""
        history = self.property_history.setdefault((kind, n), {}).setdefault(name, [])
        history.insert(0, change)

    def property_changes(self, kind: str, n: int, name: str) -> list[Change]:
        return self.property_history.get((kind, n), {}).get(name, [])
