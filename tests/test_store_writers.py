"""One writer at a time on the store, and no tracebacks: two real `territory sync` processes
against the emulator, and an unexpected error that must print one line plus a private log."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from territory.cli.errors import run_with_exit_codes
from territory.cli.main import app
from territory.emulator import RunningEmulator, start_emulator
from territory.sync import STORE_LEASE, open_store

TERRITORY = str(Path(sys.executable).with_name("territory"))


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with start_emulator(accounts=200, seed=5) as emu:
        yield emu


def _env(emu: RunningEmulator, crm: str, folder: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TERRITORY_", "SF_", "HUBSPOT_"))}
    env.update(emu.env(crm))
    env.update(TERRITORY_DB_URL=f"sqlite:///{folder / 'store.db'}", TERRITORY_LOG_DIR=str(folder / "logs"), **extra)
    return env


def _wait_for_lease_holder(url: str, timeout_s: float = 60.0) -> str:
    store = open_store(url)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            current = store.leases.current(STORE_LEASE)
            if current is not None:
                return current[0]
            time.sleep(0.05)
    finally:
        store.close()
    raise AssertionError("the first sync never took the store lease")


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_second_sync_exits_5_naming_the_holder_without_traceback_when_one_runs(
    emulator: RunningEmulator, crm: str, tmp_path: Path
) -> None:
    env = _env(emulator, crm, tmp_path, TERRITORY_LEASE_WAIT_S="0.3")
    with emulator.state.lock:  # the CRM stalls the first sync's reads while it holds the lease
        first = subprocess.Popen([TERRITORY, "sync", "--no-check"], env=env, cwd=tmp_path,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        holder = _wait_for_lease_holder(env["TERRITORY_DB_URL"])
        second = subprocess.run([TERRITORY, "sync", "--no-check"], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 5, second.stderr
    assert f"pid {first.pid}" in holder and "`territory sync`" in holder
    message = " ".join(second.stderr.split())
    assert f"`territory sync` (pid {first.pid} on" in message and "since" in message
    assert "Traceback" not in second.stderr and "database is locked" not in second.stderr
    assert "Traceback" not in err


def test_unexpected_error_prints_one_line_and_logs_the_traceback_privately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from territory.sync import scenarios

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TERRITORY_DB_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("TERRITORY_LOG_DIR", str(tmp_path / "logs"))
    open_store(f"sqlite:///{tmp_path / 'store.db'}").close()

    def broken(self: object) -> list[str]:
        raise KeyError("Müller Maschinenbau GmbH, owner Jonas Böhm")  # record contents

    monkeypatch.setattr(scenarios.Scenarios, "names", broken)
    code = run_with_exit_codes(app, ["scenarios", "list"])
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "Unexpected error (KeyError)" in err and "Müller" not in err
    logs = list((tmp_path / "logs").iterdir())
    assert len(logs) == 1 and str(logs[0]) in err
    assert "Traceback" in logs[0].read_text() and stat.S_IMODE(logs[0].stat().st_mode) == 0o600


def test_library_warning_goes_to_the_log_not_the_output_when_run_as_the_command(tmp_path: Path) -> None:
    child = ("import sys, warnings\nsys.argv = ['territory', 'version']\n"
             "from territory.cli.main import main\n"
             "import territory.cli.errors as e\n_orig = e.run_with_exit_codes\n"
             "def noisy(app):\n    warnings.warn('pkg_resources is deprecated', UserWarning)\n    return _orig(app)\n"
             "e.run_with_exit_codes = noisy\nmain()\n")
    env = {**os.environ, "TERRITORY_LOG_DIR": str(tmp_path / "logs")}
    env.pop("PYTHONWARNINGS", None)
    done = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "deprecated" not in done.stdout
    assert "pkg_resources is deprecated" in (tmp_path / "logs" / "warnings.log").read_text()


@pytest.mark.parametrize("command", [
    ["check"], ["plan", "--scenario", "held", "--time-limit", "2"], ["install"], ["sync"],
])
def test_writing_command_exits_5_naming_the_holder_when_the_store_is_held(
    emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], command: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for key, value in _env(emulator, "hubspot", tmp_path, TERRITORY_LEASE_WAIT_S="0.2").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TERRITORY_RULES", str(tmp_path / "territory.yaml"))
    assert run_with_exit_codes(app, ["sync", "--no-check"]) == 0
    assert run_with_exit_codes(app, ["rules", "draft"]) == 0
    capsys.readouterr()
    store = open_store(os.environ["TERRITORY_DB_URL"])
    holder = "`territory agent run` (pid 4242 on agent-host, since 2026-12-08 03:00:00 UTC)"
    assert store.leases.acquire(STORE_LEASE, holder, 600)
    try:
        code = run_with_exit_codes(app, command)
    finally:
        store.leases.release(STORE_LEASE, holder)
        store.close()
    err = " ".join(capsys.readouterr().err.split())
    assert code == 5 and holder in err and "Traceback" not in err


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_lease_of_a_killed_local_process_is_taken_over_at_once_but_a_live_or_remote_one_is_not(
        tmp_path: Path) -> None:
    import socket

    from territory.sync.lease import LeaseBusy, store_lease

    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    here = socket.gethostname()
    dead = f"`territory apply` (pid {_dead_pid()} on {here}, since 2026-12-08 03:00:00 UTC)"
    assert store.leases.acquire(STORE_LEASE, dead, 600)
    with store_lease(store.leases, "me", wait_s=0) as held:  # no waiting out the 600 s
        assert store.leases.current(STORE_LEASE)[0] == held.holder == "me"
    for other in (f"`territory sync` (pid {os.getpid()} on {here}, since 2026-12-08 03:00:00 UTC)",
                  f"`territory agent` (pid {_dead_pid()} on another-host, since 2026-12-08 03:00:00 UTC)"):
        assert store.leases.acquire(STORE_LEASE, other, 600)
        with pytest.raises(LeaseBusy), store_lease(store.leases, "me", wait_s=0):
            pass
        store.leases.release(STORE_LEASE, other)
    store.close()
