"""Incremental reads of owners, companies and deals from HubSpot.

Companies and deals
    *Initial load* (no cursor, ``full`` or a cursor in phase ``initial``): the v3 list
    endpoint, 100 per page in id order; each page's cursor carries the next ``after`` token,
    so a crash resumes at the page after the last committed one. Before the first page one
    search (newest ``hs_lastmodifieddate``, limit 1) fixes the load's start on the CRM's own
    clock; every edit made during the load is stamped later, so the first incremental run
    catches it. The initial load keeps open deals and those closed in the last four quarters.

    *Incremental*: first the archived list (deletions; archived records are never
    searchable) keeping those archived after the cursor's mark (token ``archived=<ms>``, the
    newest ``archivedAt`` read last time), then a search on ``hs_lastmodifieddate >= cursor``
    sorted ascending, 200 per page. Search paging stops at 10,000 results, so before
    ``after`` reaches the cap the search restarts at the last timestamp seen, dropping the
    ids already taken at it. A tie group bigger than the cap is paged by ``hs_object_id``
    instead (token ``ties=<id>``).

    Search is fed by an index that lags writes by seconds. A committed cursor therefore
    never runs past ``server Date - search_lag``: records stamped in that recent window are
    read again next run (the store's upsert makes that a no-op) rather than missed.

Owners: a handful; all of them (active + ``archived=true``) are listed every run and those
updated after the cursor are yielded.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from territory.connector.errors import FatalCrmError
from territory.connector.hubspot.client import HubSpotClient
from territory.connector.hubspot.mapping import (
    COMPANY_PROPERTIES,
    DEAL_PROPERTIES,
    MODIFIED,
    MappingError,
    deal_company,
    ms_epoch,
    parse_time,
    record_time,
    to_account,
    to_opportunity,
    to_owner,
)
from territory.connector.paging import refuse_repeated_token
from territory.connector.records import (
    AccountRecord,
    ChangeCursor,
    ChangePage,
    ObjectKind,
    OpportunityRecord,
    Record,
    SkippedRecord,
    closed_history_start,
)

LIST_LIMIT = 100
SEARCH_LIMIT = 200
SEARCH_CAP = 10_000
BATCH_LIMIT = 100
OWNER_PAGE = 500
ONE_MS = timedelta(milliseconds=1)
PHASE_INITIAL = "initial"  # first load by list pages: open deals only
PHASE_INITIAL_FULL = "initial-full"  # a --full re-read: closed deals too
_MAPPING_PROBLEMS = (MappingError, KeyError, TypeError, ValueError)


@dataclass(frozen=True)
class ObjectSpec:
    """How one object type is read."""

    kind: ObjectKind
    name: str  # "companies" | "deals"
    properties: list[str]
    visit_mode_property: str | None = None  # companies: the property holding the visit mode

    @property
    def is_deal(self) -> bool:
        return self.name == "deals"


SPECS = {
    ObjectKind.ACCOUNTS: ObjectSpec(ObjectKind.ACCOUNTS, "companies", COMPANY_PROPERTIES),
    ObjectKind.OPPORTUNITIES: ObjectSpec(ObjectKind.OPPORTUNITIES, "deals", DEAL_PROPERTIES),
}


class _Tracker:
    """The newest timestamp taken so far and the ids taken at exactly that timestamp."""

    def __init__(self, stamp: datetime | None, ids: frozenset[str] = frozenset()) -> None:
        self.stamp, self.ids = stamp, set(ids)

    def take(self, stamp: datetime, record_id: str) -> None:
        if stamp != self.stamp:
            self.stamp, self.ids = stamp, set()
        self.ids.add(record_id)

    def already(self, stamp: datetime, record_id: str) -> bool:
        return stamp == self.stamp and record_id in self.ids


class HubSpotReader:
    """Page-wise reads; see the module docstring for the algorithm."""

    def __init__(
        self,
        client: HubSpotClient,
        *,
        search_cap: int = SEARCH_CAP,
        search_lag: timedelta = timedelta(seconds=60),
    ) -> None:
        self.client = client
        self.search_cap = search_cap
        self.search_lag = search_lag

    # owners --------------------------------------------------------------------------------
    def iter_owners(self, cursor: ChangeCursor | None, full: bool) -> Iterator[ChangePage]:
        objs = self._all_owners(False) + self._all_owners(True)
        since = None if full or cursor is None else cursor.modified_at
        seen = frozenset() if cursor is None else cursor.seen_ids
        records: list[Record] = []
        skipped: list[SkippedRecord] = []
        newest = _Tracker(since, seen)
        for obj in sorted(objs, key=lambda o: str(o.get("updatedAt") or "")):
            try:
                owner = to_owner(obj)
            except _MAPPING_PROBLEMS as exc:
                skipped.append(SkippedRecord(ObjectKind.OWNERS, str(obj.get("id")), str(exc), version=_version(obj)))
                continue
            if since is None or owner.modified_at > since or (
                owner.modified_at == since and owner.id not in seen
            ):
                records.append(owner)
            if newest.stamp is None or owner.modified_at >= newest.stamp:
                newest.take(owner.modified_at, owner.id)
        yield ChangePage(records, ChangeCursor(modified_at=newest.stamp, seen_ids=frozenset(newest.ids)),
                         skipped)

    def _all_owners(self, archived: bool) -> list[dict[str, Any]]:
        owners_api = self.client.api("owners")
        out: list[dict[str, Any]] = []
        after: str | None = None
        tokens: set[str] = set()
        while True:
            resp = self.client.call(lambda kw: owners_api.get_page(
                limit=OWNER_PAGE, after=after, archived=archived, **kw))
            out.extend(resp.data.get("results") or [])
            after = _next_after(resp.data, tokens, "owners")
            if after is None:
                return out

    # companies / deals -----------------------------------------------------------------------
    def iter_objects(self, spec: ObjectSpec, cursor: ChangeCursor | None, full: bool) -> Iterator[ChangePage]:
        if full or cursor is None:
            yield from self._initial(spec, None, keep_closed=full)
        elif cursor.phase in (PHASE_INITIAL, PHASE_INITIAL_FULL):
            yield from self._initial(spec, cursor, keep_closed=cursor.phase == PHASE_INITIAL_FULL)
        else:
            mark, ties = _parse_token(cursor.token)
            if mark is None and cursor.modified_at is not None:  # a cursor from before marks
                mark = cursor.modified_at - self.search_lag
            mark = yield from self._archived(spec, cursor, mark, ties)
            yield from self._incremental(spec, cursor, mark, ties)

    def _initial(
        self, spec: ObjectSpec, cursor: ChangeCursor | None, *, keep_closed: bool = False
    ) -> Iterator[ChangePage]:
        """List everything by id. The first sync keeps open deals and those closed in the last
        four quarters; a ``--full`` re-read keeps every closed one too, so deals that closed
        since the last sync are marked closed."""
        phase = PHASE_INITIAL_FULL if keep_closed else PHASE_INITIAL
        recent_since = closed_history_start(datetime.now(UTC).date())
        if cursor is None:
            start, after = self._load_start(spec), None
        else:
            start, after = cursor.modified_at, cursor.token
        basic = self.client.api(f"{spec.name}.basic")
        associations = ["companies"] if spec.is_deal else None
        tokens: set[str] = set()
        while True:
            resp = self.client.call(lambda kw: basic.get_page(
                limit=LIST_LIMIT, after=after, properties=spec.properties,
                associations=associations, archived=False, **kw))
            records, skipped = self._map(spec, resp.data.get("results") or [], None)
            if spec.is_deal and not keep_closed:
                records = [r for r in records if _open_or_recent(r, recent_since)]
            after = _next_after(resp.data, tokens, spec.name)
            if after is not None:
                yield ChangePage(records, ChangeCursor(modified_at=start, token=after, phase=phase), skipped)
                continue
            # done: deletions from now on are newer than the newest stamp at load start
            mark = start - ONE_MS if start is not None else None
            yield ChangePage(records, ChangeCursor(modified_at=start, token=_token(mark)), skipped)
            return

    def _load_start(self, spec: ObjectSpec) -> datetime | None:
        """Where the first incremental search starts: the newest stamp at load start (+1 ms),
        pulled back to ``server Date - search_lag`` when that is earlier."""
        search = self.client.api(f"{spec.name}.search")
        body = {"filterGroups": [], "sorts": [{"propertyName": MODIFIED, "direction": "DESCENDING"}],
                "properties": [MODIFIED], "limit": 1}
        resp = self.client.call(lambda kw: search.do_search(body, **kw))
        results = resp.data.get("results") or []
        if not results:
            return None
        return self._safe(record_time(results[0]) + ONE_MS, None)

    def _safe(self, stamp: datetime, floor: datetime | None) -> datetime:
        """``stamp`` capped at the last server time minus the search lag (not below ``floor``)."""
        server = self.client.last_server_time
        if server is None or stamp <= server - self.search_lag:
            return stamp
        if stamp > server + self.search_lag:  # stamps from another clock (an emulator): no lag
            return stamp
        capped = server - self.search_lag
        return max(capped, floor) if floor is not None else capped

    def _archived(self, spec: ObjectSpec, cursor: ChangeCursor, mark: datetime | None,
                  ties: int | None) -> Generator[ChangePage, None, datetime | None]:
        """Deletions archived after ``mark``; returns the new mark (newest ``archivedAt`` read,
        held back by the search lag). Archived records are never searchable, and everything
        archived after this read is stamped later than the mark, whatever the search does."""
        basic = self.client.api(f"{spec.name}.basic")
        after: str | None = None
        tokens: set[str] = set()
        records: list[Record] = []
        newest = mark
        while True:
            resp = self.client.call(lambda kw: basic.get_page(
                limit=LIST_LIMIT, after=after, properties=spec.properties, archived=True, **kw))
            for obj in resp.data.get("results") or []:
                gone = parse_time(obj.get("archivedAt")) or record_time(obj)
                if mark is None or gone > mark:
                    records.append(_deleted_record(spec, obj, gone))
                    newest = gone if newest is None else max(newest, gone)
            after = _next_after(resp.data, tokens, f"archived {spec.name}")
            if after is None:
                break
        new_mark = self._safe(newest, mark) if newest is not None else None
        if records:
            yield ChangePage(records, replace(cursor, token=_token(new_mark, ties)))
        return new_mark

    def _incremental(self, spec: ObjectSpec, cursor: ChangeCursor, mark: datetime | None,
                     ties: int | None) -> Iterator[ChangePage]:
        start = cursor.modified_at
        seen = _Tracker(start, cursor.seen_ids)
        if start is not None and ties is not None:  # resume inside a tie group
            yield from self._ties(spec, start, ties, seen, mark)
            start, seen = start + ONE_MS, _Tracker(start + ONE_MS)
        after = 0
        tokens: set[str] = set()
        while True:
            data = self._search_or_cap(spec, _since_filter(start), after)
            if data is not None:
                yield self._search_page(spec, data, seen, start, mark)
                nxt = _next_after(data, tokens, f"{spec.name} search")
                if nxt is None:
                    return
                if int(nxt) < self.search_cap:
                    after = int(nxt)
                    continue
            if seen.stamp == start and start is not None:  # one timestamp fills the whole window
                yield from self._ties(spec, start, 0, seen, mark)
                seen = _Tracker(start + ONE_MS)
            start, after, tokens = seen.stamp, 0, set()  # restart at the last stamp taken
            seen = _Tracker(seen.stamp, frozenset(seen.ids))

    def _search_or_cap(self, spec: ObjectSpec, filters: list[dict[str, Any]], after: int) -> dict[str, Any] | None:
        """A search page, or None when HubSpot refuses to page further (its result cap)."""
        try:
            return self._search(spec, filters, MODIFIED, after)
        except FatalCrmError as exc:
            if exc.status == 400 and after > 0:
                return None
            raise

    def _ties(self, spec: ObjectSpec, stamp: datetime, last_id: int, seen: _Tracker,
              mark: datetime | None) -> Iterator[ChangePage]:
        """Every record stamped exactly ``stamp`` with id > ``last_id``, paged by id."""
        filters = [{"propertyName": MODIFIED, "operator": "EQ", "value": ms_epoch(stamp)}]
        floor_id, after = last_id, 0
        tokens: set[str] = set()
        while True:
            id_filter = {"propertyName": "hs_object_id", "operator": "GT", "value": str(floor_id)}
            data = self._search(spec, [*filters, id_filter], "hs_object_id", after)
            results = data.get("results") or []
            fresh = [o for o in results if not seen.already(stamp, str(o["id"]))]
            records, skipped = self._map(spec, fresh, self._deal_companies(spec, fresh))
            for obj in results:
                last_id = max(last_id, int(obj["id"]))
            yield ChangePage(records, ChangeCursor(modified_at=stamp, token=_token(mark, last_id)), skipped)
            nxt = _next_after(data, tokens, f"{spec.name} tie search")
            if nxt is None:
                return
            after = int(nxt)
            if after >= self.search_cap:  # the id filter moves instead of the offset
                floor_id, after = last_id, 0
                tokens = set()

    def _search(self, spec: ObjectSpec, filters: list[dict[str, Any]], sort: str, after: int) -> dict[str, Any]:
        search = self.client.api(f"{spec.name}.search")
        body: dict[str, Any] = {
            "filterGroups": [{"filters": filters}] if filters else [],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": spec.properties,
            "limit": SEARCH_LIMIT,
        }
        if after:
            body["after"] = str(after)
        return self.client.call(lambda kw: search.do_search(body, **kw)).data or {}

    def _search_page(self, spec: ObjectSpec, data: dict[str, Any], seen: _Tracker,
                     floor: datetime | None, mark: datetime | None) -> ChangePage:
        fresh: list[dict[str, Any]] = []
        for obj in data.get("results") or []:
            try:
                stamp = record_time(obj)
            except MappingError:
                fresh.append(obj)  # reported as skipped by _map
                continue
            if not seen.already(stamp, str(obj["id"])):
                fresh.append(obj)
                seen.take(stamp, str(obj["id"]))
        records, skipped = self._map(spec, fresh, self._deal_companies(spec, fresh))
        token = _token(mark)
        if seen.stamp is None:
            return ChangePage(records, ChangeCursor(token=token), skipped)
        safe = self._safe(seen.stamp, floor)
        ids = frozenset(seen.ids) if safe == seen.stamp else frozenset()
        return ChangePage(records, ChangeCursor(modified_at=safe, seen_ids=ids, token=token), skipped)

    def _deal_companies(self, spec: ObjectSpec, objs: list[dict[str, Any]]) -> dict[str, str | None] | None:
        """Search results carry no associations: batch-read deal -> company (<=100 per call)."""
        if not spec.is_deal or not objs:
            return None
        batch = self.client.api("associations.batch")
        out: dict[str, str | None] = {str(o["id"]): None for o in objs}
        ids = list(out)
        for i in range(0, len(ids), BATCH_LIMIT):
            body = {"inputs": [{"id": x} for x in ids[i:i + BATCH_LIMIT]]}
            data = self.client.call(lambda kw: batch.get_page("deals", "companies", body, **kw)).data or {}
            for row in data.get("results") or []:
                targets = row.get("to") or []
                if targets:
                    out[str(row["from"]["id"])] = str(targets[0]["toObjectId"])
        return out

    def _map(self, spec: ObjectSpec, objs: list[dict[str, Any]],
             companies: dict[str, str | None] | None) -> tuple[list[Record], list[SkippedRecord]]:
        records: list[Record] = []
        skipped: list[SkippedRecord] = []
        for obj in objs:
            problems: list[str] = []
            try:
                if spec.is_deal:
                    company = companies.get(str(obj["id"])) if companies is not None else deal_company(obj)
                    records.append(to_opportunity(obj, company, problems))
                else:
                    records.append(to_account(obj, problems, spec.visit_mode_property))
            except _MAPPING_PROBLEMS as exc:
                skipped.append(SkippedRecord(spec.kind, str(obj.get("id")), f"{spec.name}: {exc}", version=_version(obj)))
            else:
                if problems:  # stored, the unusable optional fields left empty
                    skipped.append(SkippedRecord(spec.kind, str(obj.get("id")), f"{spec.name}: {'; '.join(problems)}",
                                                 version=_version(obj), stored=True))
        return records, skipped


def _version(obj: dict[str, Any]) -> str | None:
    """The object's modification stamp as HubSpot sent it (to recognise a re-read)."""
    stamp = (obj.get("properties") or {}).get(MODIFIED) or obj.get("updatedAt")
    return str(stamp) if stamp else None


def _token(mark: datetime | None, ties: int | None = None) -> str | None:
    """The incremental-phase token: ``archived=<ms>`` (deletions up to it are taken) and,
    inside a tie group too big for search paging, ``ties=<id>`` (ids up to it are taken)."""
    parts = [] if mark is None else [f"archived={ms_epoch(mark)}"]
    if ties is not None:
        parts.append(f"ties={ties}")
    return ";".join(parts) or None


def _parse_token(token: str | None) -> tuple[datetime | None, int | None]:
    fields = dict(part.split("=", 1) for part in (token or "").split(";") if "=" in part)
    mark = parse_time(fields["archived"]) if fields.get("archived", "").isdigit() else None
    ties = int(fields["ties"]) if fields.get("ties", "").isdigit() else None
    return mark, ties


def _since_filter(start: datetime | None) -> list[dict[str, Any]]:
    if start is None:
        return []
    return [{"propertyName": MODIFIED, "operator": "GTE", "value": ms_epoch(start)}]


def _next_after(data: dict[str, Any], tokens: set[str], what: str) -> str | None:
    """``paging.next.after`` or None; a token seen before is an error, not a loop."""
    nxt = ((data.get("paging") or {}).get("next") or {}).get("after")
    if nxt in (None, ""):
        return None
    return refuse_repeated_token(
        tokens, str(nxt), crm="hubspot", what=what, code="REPEATED_PAGING_TOKEN",
        next_step="run `territory sync --full`; report it to HubSpot support if it repeats",
    )


def _open_or_recent(record: Record, since: date) -> bool:
    """An open deal, or one closed on or after ``since`` (kept by a first load)."""
    if not getattr(record, "is_closed", False):
        return True
    close_date = getattr(record, "close_date", None)
    return close_date is not None and close_date >= since


def _deleted_record(spec: ObjectSpec, obj: dict[str, Any], gone: datetime) -> Record:
    """An archived object as a deletion; a record we cannot fully map is still deleted."""
    props = obj.get("properties") or {}
    if spec.is_deal:
        return OpportunityRecord(id=str(obj["id"]), name=str(props.get("dealname") or obj["id"]),
                                 modified_at=gone, is_deleted=True)
    return AccountRecord(id=str(obj["id"]), name=str(props.get("name") or obj["id"]),
                         modified_at=gone, is_deleted=True)
