"""Human activity on accounts (tasks, events, notes, meetings, calls), read for counts only.

The quarterly report shows activity per account per quarter. The sync keeps just enough of
each activity to count it: the account it belongs to, its day, whether the agent wrote it
(its ``[territory:KEY]`` marker), and whether it was deleted. Connectors read these
incrementally by modification time; ``ActivityChange.id`` is unique across the CRM's
activity objects (the object name is part of it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol, runtime_checkable

AGENT_MARKER = "[territory:"


@dataclass(frozen=True)
class ActivityChange:
    """One activity as last read (or its deletion)."""

    id: str
    account_id: str | None
    day: date | None
    modified_at: datetime
    deleted: bool = False
    by_agent: bool = False


@runtime_checkable
class ActivityReader(Protocol):
    """A connector that can read activity changes (both built-in connectors can)."""

    def iter_activity_changes(self, since: datetime | None) -> Iterator[list[ActivityChange]]:
        """Pages of activities modified at or after ``since`` (all when None), oldest first."""
        ...


def written_by_agent(*texts: str | None) -> bool:
    """Whether any of the texts carries the agent's marker (its own tasks and notes)."""
    return any(AGENT_MARKER in (text or "") for text in texts)


__all__ = ["AGENT_MARKER", "ActivityChange", "ActivityReader", "written_by_agent"]
