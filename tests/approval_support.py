"""A small seeded CRM with the approval loop installed and one scenario published, per CRM.

Real pieces only: the emulator, the official client behind our connector, a SQLite store, the
real planner. Managers are played through the emulated CRM's UI as the users they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from territory import rules
from territory.cli.shared import approvers_yaml
from territory.config import load_settings
from territory.connector.factory import build_connector
from territory.emulator import RunningEmulator, start_emulator
from territory.sync import open_store, run_sync
from territory.sync.draft_rules import draft_rules_yaml
from territory.sync.proposals import People, list_proposals, propose
from territory.sync.scenarios import MoveInput
from territory.sync.store import Store

CRMS = ("salesforce", "hubspot")


@dataclass
class Loop:
    """Everything one approval-loop test works with."""

    emu: RunningEmulator
    crm: str
    folder: Path
    settings: Any
    store: Store
    rules_path: Path

    def connector(self) -> Any:
        return build_connector(self.settings)

    def rules(self) -> rules.RulesConfig:
        return rules.load_rules(self.rules_path)

    def people(self) -> People:
        return People(self.store, self.crm, self.rules())

    def env(self) -> dict[str, str]:
        return {**self.emu.env(self.crm), "TERRITORY_DB_URL": self.settings.territory_db_url,
                "TERRITORY_RULES": str(self.rules_path)}

    def ui(self, edit: Any, as_user: str | None) -> None:
        """Save ``edit`` in the CRM's UI as ``as_user``."""
        self.emu.control.ui_edit(self.crm, edit.object, edit.record_id, as_user or "", edit.fields)

    def decide(self, row: Any, status: str, as_user: str | None) -> None:
        self.ui(self.connector().status_edit(row.crm_record_id, status), as_user)

    def proposals(self, **filters: Any) -> list[Any]:
        return list_proposals(self.store, self.crm, **filters)

    def owners(self) -> dict[str, str | None]:
        """Every account's owner as the CRM's API reads it now."""
        key = "sf_id" if self.crm == "salesforce" else "hs_id"
        ids = [a[key] for a in self.emu.control.records("accounts", include_deleted=False)]
        return self.connector().fetch_current_owners(ids)

    def notes_by_account(self) -> dict[str, int]:
        """Audit notes per account id (activities carrying a proposal's note marker)."""
        ids = sorted({r.account_id for r in self.proposals()})
        counts: dict[str, int] = {}
        for activity in self.connector().fetch_activities(ids):
            if activity.external_key and activity.external_key.endswith("-note"):
                counts[activity.account_id] = counts.get(activity.account_id, 0) + 1
        return counts

    def save_scenario(self, name: str, moves: list[tuple[str, str | None, str]]) -> None:
        self.store.scenarios.save(name, {}, {}, [MoveInput(a, f, t, "balance potential") for a, f, t in moves])


def pick_moves(loop: Loop, count: int, *, avoid: set[str] = frozenset()) -> list[tuple[str, str | None, str]]:
    """``count`` moves of owned accounts to another active rep who has a manager to approve."""
    people = loop.people()
    reps = sorted(people.active_reps)
    moves = []
    for row in loop.store.iter_records("accounts", crm=loop.crm):
        owner = row["owner_id"]
        if row["is_deleted"] or owner not in people.active_reps or row["id"] in avoid:
            continue
        targets = [r for r in reps if r != owner and people.context.managers.get(r)]
        target = targets[len(moves) % len(targets)] if targets and people.context.managers.get(owner) else None
        if target is not None:
            moves.append((row["id"], owner, target))
        if len(moves) == count:
            break
    return moves


@contextmanager
def loop_for(crm: str, folder: Path, *, accounts: int = 60, seed: int = 11, grandfather: bool = True,
             installed: bool = True) -> Iterator[Loop]:
    """A synced store, a rules file with approvers, and (``installed``) the loop installed."""
    with start_emulator(accounts=accounts, seed=seed, malformed=False) as emu:
        env = {k.lower(): v for k, v in emu.env(crm).items() if k != "TERRITORY_EMULATOR_URL"}
        settings = load_settings(env_file=None, territory_db_url=f"sqlite:///{folder / 'store.db'}", **env)
        store = open_store(settings.territory_db_url)
        run_sync(build_connector(settings), store)
        rules_path = folder / "territory.yaml"
        text = draft_rules_yaml(store, crm) + approvers_yaml(emu.control.records("owners"), crm)
        if not grandfather:
            text = text.replace("grandfather_open_opportunities: true", "grandfather_open_opportunities: false")
        rules_path.write_text(text, encoding="utf-8")
        loop = Loop(emu, crm, folder, settings, store, rules_path)
        if installed:
            loop.connector().install(dry_run=False, approvers=loop.people().approver_ids())
        try:
            yield loop
        finally:
            store.close()


def publish(loop: Loop, name: str, moves: list[tuple[str, str | None, str]]) -> Any:
    """Save ``moves`` as scenario ``name`` and publish it."""
    loop.save_scenario(name, moves)
    return propose(loop.store, loop.connector(), name, loop.rules())


def approve_all(loop: Loop, scenario: str) -> list[Any]:
    """Each open proposal of ``scenario`` approved by its approving manager, in the CRM's UI."""
    rows = [r for r in loop.proposals(scenario=scenario, states=["Proposed"]) if r.approver_id]
    for row in rows:
        loop.decide(row, "Approved", row.approver_id)
    return rows
