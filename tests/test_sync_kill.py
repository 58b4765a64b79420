"""Kill a real ``run_sync`` subprocess (SIGKILL) mid-sync; the resume loses and repeats nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from territory.sync import open_store, run_sync
from tests.fake_crm import FakeConnector, seed_crm
from tests.test_sync_engine import snapshot

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS, OWNERS, OPPORTUNITIES = 300, 5, 40
CHILD = f"""
import sys
from territory.sync import open_store, run_sync
from tests.fake_crm import FakeConnector, seed_crm
store = open_store(sys.argv[1])
crm = seed_crm(accounts={ACCOUNTS}, owners={OWNERS}, opportunities={OPPORTUNITIES})
def progress(kind, counts):
    print(kind, counts.fetched, flush=True)
run_sync(FakeConnector(crm, page_size=7, page_delay_s=0.01), store, progress=progress)
print("done", flush=True)
"""


def _kill_mid_sync(url: str, delay_s: float) -> list[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    first = child.stdout.readline()  # wait until the first page is committed
    time.sleep(delay_s)
    child.send_signal(signal.SIGKILL)
    rest = child.stdout.read()
    child.wait(timeout=30)
    return [first, *rest.splitlines()]


@pytest.mark.parametrize("delay_s", [0.05, 0.23, 0.41])
def test_resume_equals_uninterrupted_sync_when_process_killed_mid_sync(
    tmp_path: Path, delay_s: float
) -> None:
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    open_store(url).close()  # migrate up front so the kill lands inside the sync
    lines = _kill_mid_sync(url, delay_s)
    assert "done" not in lines, "the sync finished before the kill; raise the page delay"
    crm = seed_crm(accounts=ACCOUNTS, owners=OWNERS, opportunities=OPPORTUNITIES)
    store = open_store(url)
    assert store.list_runs()[0]["status"] == "running"  # the killed run never finished
    committed = store.count_records("owners") + store.count_records("accounts") + store.count_records("opportunities")
    summary = run_sync(FakeConnector(crm, page_size=7), store)
    reference = open_store("sqlite://")
    run_sync(FakeConnector(crm, page_size=7), reference)
    assert snapshot(store) == snapshot(reference)
    # nothing re-fetched beyond the page being written when killed, nothing missing
    total = ACCOUNTS + OWNERS + OPPORTUNITIES
    assert summary.total("fetched") == total - committed
    assert summary.total("unchanged") == 0
    assert [r["status"] for r in store.list_runs()][:2] == ["ok", "interrupted"]
