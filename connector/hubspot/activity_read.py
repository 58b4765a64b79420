"""Tasks, notes, meetings and calls per company, read incrementally for the report's counts.

Search on ``hs_lastmodifieddate`` (oldest first), then the v4 associations of each page to
companies. Search stops at 10,000 results: the read then starts again from the last stamp it
reached (rows read twice are harmless). Search does not return archived activities, so a
deleted activity still counts until a ``territory sync --full``. Meetings and calls are skipped
where the portal does not offer them (404) or the token may not read them (403). The day is ``hs_timestamp`` (when it happened), else creation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from territory.connector.activity_log import ActivityChange, written_by_agent
from territory.connector.errors import FatalCrmError
from territory.connector.hubspot.client import HubSpotClient
from territory.connector.hubspot.mapping import MODIFIED, ms_epoch, parse_time, record_time

TEXT_PROPERTIES = {
    "tasks": ("hs_task_subject", "hs_task_body"),
    "notes": ("hs_note_body",),
    "meetings": ("hs_meeting_title", "hs_meeting_body"),
    "calls": ("hs_call_title", "hs_call_body"),
}
SEARCH_LIMIT = 200
SEARCH_CAP = 10_000
ASSOCIATION_CHUNK = 100


def _search(client: HubSpotClient, kind: str, since: datetime | None, after: int) -> dict[str, Any]:
    search = client.api(f"{kind}.search")
    filters = [{"propertyName": MODIFIED, "operator": "GTE", "value": ms_epoch(since)}] if since else []
    body: dict[str, Any] = {
        "filterGroups": [{"filters": filters}] if filters else [],
        "sorts": [{"propertyName": MODIFIED, "direction": "ASCENDING"}],
        "properties": [MODIFIED, "hs_timestamp", "hs_createdate", *TEXT_PROPERTIES[kind]],
        "limit": SEARCH_LIMIT,
    }
    if after:
        body["after"] = str(after)
    return client.call(lambda kw: search.do_search(body, **kw)).data or {}


def _companies(client: HubSpotClient, kind: str, ids: list[str]) -> dict[str, str]:
    """Activity id -> the (first) company it is associated with."""
    batch = client.api("associations.batch")
    out: dict[str, str] = {}
    for start in range(0, len(ids), ASSOCIATION_CHUNK):
        body = {"inputs": [{"id": x} for x in ids[start:start + ASSOCIATION_CHUNK]]}
        data = client.call(lambda kw: batch.get_page(kind, "companies", body, **kw)).data or {}
        for row in data.get("results") or []:
            targets = row.get("to") or []
            if targets:
                out[str(row["from"]["id"])] = str(targets[0]["toObjectId"])
    return out


def to_change(kind: str, obj: dict[str, Any], company: str | None) -> ActivityChange:
    """One activity object in our vocabulary."""
    props = obj.get("properties") or {}
    when = parse_time(props.get("hs_timestamp")) or parse_time(props.get("hs_createdate"))
    return ActivityChange(
        id=f"{kind}:{obj['id']}", account_id=company, day=when.date() if when else None,
        modified_at=record_time(obj), by_agent=written_by_agent(*(props.get(p) for p in TEXT_PROPERTIES[kind])),
    )


def _iter_kind(client: HubSpotClient, kind: str, since: datetime | None, cap: int) -> Iterator[list[ActivityChange]]:
    start, after = since, 0
    while True:
        data = _search(client, kind, start, after)
        objs = data.get("results") or []
        companies = _companies(client, kind, [str(o["id"]) for o in objs]) if objs else {}
        page = [to_change(kind, o, companies.get(str(o["id"]))) for o in objs]
        yield page
        nxt = ((data.get("paging") or {}).get("next") or {}).get("after")
        if not nxt or not page:
            return
        if int(nxt) >= cap:  # search pages no further: restart from the last stamp reached
            last = page[-1].modified_at
            if start is not None and last <= start:
                return  # more than 10,000 activities share one millisecond: nothing more to gain
            start, after = last, 0
        else:
            after = int(nxt)


def iter_activity_changes(
    client: HubSpotClient, since: datetime | None, *, search_cap: int = SEARCH_CAP,
) -> Iterator[list[ActivityChange]]:
    """Pages of activity changes since ``since`` for every activity type the portal offers."""
    for kind in TEXT_PROPERTIES:
        try:
            yield from _iter_kind(client, kind, since, search_cap)
        except FatalCrmError as exc:
            if exc.status not in (403, 404) or kind in ("tasks", "notes"):
                raise  # tasks and notes the agent needs anyway; meetings/calls are optional


__all__ = ["TEXT_PROPERTIES", "iter_activity_changes", "to_change"]
