"""Property test: whatever the tie structure and search cap, an incremental read takes every
changed company exactly once, and a kill after any page resumes without gap or duplicate."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territory.connector.records import ObjectKind
from territory.emulator.state import EmuAccount
from tests.hubspot_support import connector_for, drain, ids, make_state, running

ACCOUNTS = ObjectKind.ACCOUNTS


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    groups=st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=12),
    cap=st.integers(min_value=5, max_value=120),
    kill_after=st.integers(min_value=0, max_value=30),
)
def test_changes_arrive_exactly_once_for_any_ties_cap_and_kill_point(
    groups: list[int], cap: int, kill_after: int
) -> None:
    state = make_state(3)
    with running(state, search_cap=cap) as server:
        conn = connector_for(server, search_cap=cap)
        _, cursor = drain(conn, ACCOUNTS)
        n = 20_000
        for size in groups:  # each group shares one modified time
            stamp = state.tick()
            for _ in range(size):
                state.accounts[n] = EmuAccount(n, f"C{n}", 1, modified_at=stamp, created_at=stamp)
                n += 1
        expected = {str(k) for k in range(20_000, n)}
        pages = list(conn.iter_changes(ACCOUNTS, cursor))
        got = ids(pages)
        assert len(got) == len(set(got)) and set(got) == expected
        # kill after page k: the committed cursor of page k resumes the rest exactly
        k = min(kill_after, len(pages) - 1)
        before, resume_from = ids(pages[: k + 1]), pages[k].cursor
        rest = ids(list(conn.iter_changes(ACCOUNTS, resume_from)))
    assert set(before) | set(rest) == expected
    assert not set(before) & set(rest)
    assert len(rest) == len(set(rest))
