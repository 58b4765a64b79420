"""Kill `territory apply` at random points, then one clean run: nothing lost, nothing twice.

The emulator runs in this process, so it can SIGKILL the `territory apply` subprocess exactly
at its Nth API request: before the CRM sees the request, or after the CRM applied it but
before the answer leaves (the worst case for exactly-once). After 11 kills per CRM (22 in all) and a final clean
run the CRM must hold exactly the starting owners plus the applied moves, and every applied
change exactly one audit note.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from territory.sync.decisions import poll_decisions
from tests.approval_support import CRMS, Loop, approve_all, loop_for, pick_moves, publish

KILLS = 11  # per CRM: 22 kill points over both


class Killer:
    """Wraps the emulator's dispatcher: SIGKILLs ``pid`` at its ``at``-th API request."""

    def __init__(self, server: Any) -> None:
        self.server, self.original = server, server.handle
        self.pid: int | None = None
        self.at, self.after, self.seen, self.killed, self.killed_after_write = 0, False, 0, 0, 0
        self.lock = threading.Lock()
        server.handle = self.handle

    def arm(self, pid: int, at: int, after: bool) -> None:
        with self.lock:
            self.pid, self.at, self.after, self.seen = pid, at, after, 0

    def handle(self, req: Any) -> Any:
        if req.path.startswith("/_emulator") or self.pid is None:
            return self.original(req)
        with self.lock:
            self.seen += 1
            hit = self.seen == self.at
        if hit and not self.after:
            self._kill()
            return None
        response = self.original(req)
        if hit:
            self.killed_after_write += req.method != "GET" and not any(
                read in req.path for read in ("/batch/read", "/search"))
            self._kill()
        return response

    def _kill(self) -> None:
        if self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            self.killed += 1
            self.pid = None


def _apply(loop: Loop, killer: Killer | None, rng: random.Random) -> int:
    env = {**os.environ, **loop.env()}
    process = subprocess.Popen([sys.executable, "-m", "territory.cli.main", "apply", "--yes", "--json"],
                               cwd=loop.folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if killer is not None:
        killer.arm(process.pid, rng.randint(1, 9), rng.random() < 0.5)
    _, err = process.communicate(timeout=120)
    if killer is not None:
        killer.pid = None
    assert process.returncode in (0, 4, -signal.SIGKILL), err.decode()
    return process.returncode


@pytest.mark.parametrize("crm", CRMS)
def test_apply_killed_at_random_points_ends_with_exactly_the_approved_owners_and_one_note_each(
        crm: str, tmp_path: Path) -> None:
    rng = random.Random(f"crash-{crm}")
    with loop_for(crm, tmp_path, grandfather=False, accounts=80) as loop:
        before = loop.owners()
        moves = pick_moves(loop, 24)
        killer = Killer(loop.emu.server)
        rounds = 0
        while killer.killed < KILLS:
            if not loop.proposals(states=["Approved"]):  # all done: publish and approve the next few
                publish(loop, f"r{rounds}", moves[rounds * 4:rounds * 4 + 4])
                approve_all(loop, f"r{rounds}")
                poll_decisions(loop.store, loop.connector(), loop.rules())
                rounds += 1
            _apply(loop, killer, rng)
        assert _apply(loop, None, rng) == 0  # the final clean run finishes what is left
        applied = loop.proposals(states=["Applied"])
        assert applied and not loop.proposals(states=["Approved", "Failed"])
        expected = {**before, **{r.account_id: r.to_owner_id for r in applied}}
        assert loop.owners() == expected
        assert loop.notes_by_account() == {r.account_id: 1 for r in applied}
        print(f"\n{crm}: {killer.killed} kills ({killer.killed_after_write} right after the CRM applied a write) "
              f"over {rounds} rounds, {len(applied)} applied, "
              f"{sum(loop.notes_by_account().values())} audit notes")
