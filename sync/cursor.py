"""Rules for advancing the committed cursor.

The connector computes each page's cursor; the engine commits it with the page's data. In
incremental mode the committed bookmark never moves backwards: a re-delivered (older) page
would otherwise make the next run re-read changes it already has. That costs no correctness
but API calls, and it breaks "replaying a page changes nothing". Token-based phases (e.g. a
HubSpot initial list load) are opaque to us and always taken as given.
"""

from __future__ import annotations

from territory.connector.records import ChangeCursor


def advance_cursor(committed: ChangeCursor | None, offered: ChangeCursor) -> ChangeCursor:
    """The cursor to commit after a page whose connector cursor is ``offered``.

    Args:
        committed: The cursor committed before this page (None at the start of a full run).
        offered: ``ChangePage.cursor`` of the page just stored.

    Returns:
        ``offered`` unless both are timestamp cursors in incremental mode and ``offered`` is
        behind: then ``committed`` (older time) or both ``seen_ids`` merged (same time).
    """
    if committed is None or offered.token is not None or committed.token is not None:
        return offered
    if offered.phase != committed.phase or offered.modified_at is None:
        return offered
    if committed.modified_at is None or offered.modified_at > committed.modified_at:
        return offered
    if offered.modified_at < committed.modified_at:
        return committed
    return ChangeCursor(
        modified_at=offered.modified_at,
        seen_ids=committed.seen_ids | offered.seen_ids,
        token=None,
        phase=offered.phase,
    )
