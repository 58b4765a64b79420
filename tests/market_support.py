"""Shared set-up of the market tests: a store synced from the emulator, rules drafted from it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from territory.cli.errors import run_with_exit_codes
from territory.cli.main import app
from territory.emulator import start_emulator
from territory.sync import open_store
from territory.sync.draft_rules import draft_rules_yaml


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run the CLI; its exit code and everything it printed."""
    code = run_with_exit_codes(app, args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@contextmanager
def synced_store(crm: str, folder: Path, monkeypatch: pytest.MonkeyPatch, *, accounts: int,
                 seed: int) -> Iterator[dict[str, Any]]:
    """An emulator for ``crm``, the settings pointing at it, a synced store and a drafted
    territory.yaml in ``folder`` (the working directory): crm, emu, store, dir."""
    monkeypatch.chdir(folder)
    with start_emulator(accounts=accounts, seed=seed) as emu:
        for key, value in emu.env(crm).items():
            monkeypatch.setenv(key, value)
        url = f"sqlite:///{folder / 'store.db'}"
        monkeypatch.setenv("TERRITORY_DB_URL", url)
        monkeypatch.setenv("TERRITORY_RULES", str(folder / "territory.yaml"))
        assert run_with_exit_codes(app, ["sync"]) in (0, 4)
        store = open_store(url)
        (folder / "territory.yaml").write_text(draft_rules_yaml(store, crm), encoding="utf-8")
        yield {"crm": crm, "emu": emu, "store": store, "dir": folder}
