"""Property tests: page splits, overlaps and replays of a change stream never change the result."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territory.connector.records import AccountRecord, ChangeCursor, ChangePage, ObjectKind
from territory.sync import Store, open_store, run_sync
from territory.sync.store import create_store_engine
from tests.fake_crm import T0, FakeConnector, _advance
from tests.test_sync_engine import snapshot

IDS = [f"A{n}" for n in range(6)]


class ScriptedConnector(FakeConnector):
    """Serves exactly the given account pages (the 'network' is a script)."""

    def __init__(self, pages: Sequence[ChangePage]) -> None:
        super().__init__(None)  # type: ignore[arg-type]
        self.pages = list(pages)

    def iter_changes(
        self, kind: ObjectKind, cursor: ChangeCursor | None, *, full: bool = False
    ) -> Iterator[ChangePage]:
        for page in self.pages:
            self.api_calls += 1
            yield page


@st.composite
def change_streams(draw: st.DrawFn) -> list[AccountRecord]:
    """A CRM's change history in read order: per id strictly newer versions; a delete
    carries the last values (as Salesforce queryAll and HubSpot archived reads do); many
    records share timestamps across ids."""
    stream: list[AccountRecord] = []
    for rid in draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=6, unique=True)):
        times = sorted(draw(st.sets(st.integers(0, 12), min_size=1, max_size=4)))
        name, owner = f"Firma {rid}", None
        for ms in times:
            deleted = draw(st.booleans()) and draw(st.booleans())
            if not deleted:
                name = draw(st.sampled_from(["Alpha GmbH", "Beta AG", "Gamma KG", name]))
                owner = draw(st.sampled_from([None, "U1", "U2"]))
            stream.append(AccountRecord(id=rid, name=name, owner_id=owner, is_deleted=deleted,
                                        modified_at=T0 + timedelta(milliseconds=ms)))
    return sorted(stream, key=lambda r: (r.modified_at, r.id))


def paginate(stream: list[AccountRecord], cuts: Sequence[int], overlap: int = 0) -> list[ChangePage]:
    """Split at ``cuts``; each page may repeat the previous page's last ``overlap`` records."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(stream)}), len(stream)]
    pages, cursor = [], ChangeCursor()
    for start, end in zip(bounds, bounds[1:]):
        records = stream[start:end]
        cursor = _advance(cursor, records)
        pages.append(ChangePage(records=stream[max(0, start - overlap):end], cursor=cursor))
    return pages


_TEMPLATE: list[Store] = []


def fresh_store() -> Store:
    """An empty, migrated in-memory store, copied from a template (migrating is the slow
    part, and hypothesis wants hundreds of fresh stores)."""
    if not _TEMPLATE:
        _TEMPLATE.append(open_store("sqlite://"))
    store = Store(create_store_engine("sqlite://"))
    with _TEMPLATE[0].engine.connect() as src, store.engine.connect() as dst:
        src.connection.dbapi_connection.backup(dst.connection.dbapi_connection)  # type: ignore[union-attr]
    return store


def apply(pages: Sequence[ChangePage], store: Store | None = None) -> Store:
    store = store or fresh_store()
    run_sync(ScriptedConnector(pages), store, kinds=[ObjectKind.ACCOUNTS])
    return store


def latest_versions(stream: list[AccountRecord]) -> dict[str, tuple[str, bool]]:
    last: dict[str, AccountRecord] = {}
    for record in stream:
        last[record.id] = record
    return {rid: (r.name, r.is_deleted) for rid, r in last.items()}


SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(stream=change_streams(), cuts=st.lists(st.integers(0, 30), max_size=8))
def test_store_and_cursor_are_identical_when_stream_is_split_any_way(
    stream: list[AccountRecord], cuts: list[int]
) -> None:
    whole = apply(paginate(stream, []))
    split = apply(paginate(stream, cuts))
    assert snapshot(split) == snapshot(whole)
    stored = {r["id"]: (r["name"], r["is_deleted"])
              for r in split.iter_records("accounts", include_deleted=True)}
    assert stored == latest_versions(stream)
    last = stream[-1].modified_at
    assert split.get_cursor("salesforce", "accounts") == ChangeCursor(
        last, frozenset(r.id for r in stream if r.modified_at == last))


@SETTINGS
@given(stream=change_streams(), cuts=st.lists(st.integers(0, 30), max_size=8),
       overlap=st.integers(1, 4))
def test_overlapping_pages_change_nothing_when_records_are_read_twice(
    stream: list[AccountRecord], cuts: list[int], overlap: int
) -> None:
    assert snapshot(apply(paginate(stream, cuts, overlap))) == snapshot(apply(paginate(stream, [])))


@SETTINGS
@given(stream=change_streams(), cuts=st.lists(st.integers(0, 30), max_size=8), data=st.data())
def test_replaying_a_page_changes_nothing_when_it_was_already_stored(
    stream: list[AccountRecord], cuts: list[int], data: st.DataObject
) -> None:
    pages = paginate(stream, cuts)
    store = apply(pages)
    before = snapshot(store)
    replayed = data.draw(st.sampled_from(pages))
    summary = run_sync(ScriptedConnector([replayed]), store, kinds=[ObjectKind.ACCOUNTS])
    assert snapshot(store) == before
    counts = summary.kinds["accounts"]
    assert (counts.inserted, counts.updated, counts.deleted) == (0, 0, 0)
    assert counts.unchanged == len({r.id for r in replayed.records})
