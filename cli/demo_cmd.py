"""`territory demo`: the whole job end to end on the embedded defaults, no CRM account needed.

Starts the built-in CRM emulator, syncs it into a SQLite store, drafts a rules file from the
synced book, flags conflicts inside the (emulated) CRM, shows that a re-run flags nothing
twice, syncs a round of human edits incrementally, and plans a balanced, low-disruption
rebalance saved as a named scenario. Everything it writes lands in one folder.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.rule import Rule

DEMO_HELP = (
    "Run the whole job end to end on SQLite and the built-in CRM emulator (no CRM needed).\n\n"
    "Steps: sync -> draft rules -> flag conflicts in the CRM (exactly once) -> incremental sync "
    "-> plan a balanced rebalance saved as a scenario.\n\n"
    "Everything is written to --dir (SQLite store demo.db, territory.yaml, plan.csv, "
    "metrics.json); the folder is reset at the start of each run."
)


def demo_command(
    crm: str = typer.Option("salesforce", "--crm", help="Which CRM API to emulate: salesforce or hubspot."),
    accounts: int = typer.Option(3000, "--accounts", min=50, help="Accounts to seed in the emulator."),
    seed: int = typer.Option(7, "--seed", help="Seed of the emulator's data and the planner."),
    folder: Path = typer.Option(Path("territory-demo"), "--dir", help="Folder for the demo's files."),
    time_limit: float = typer.Option(20.0, "--time-limit", min=1.0, help="Planner time limit in seconds."),
    tolerance: float = typer.Option(0.05, "--tolerance", min=0.0, help="Balance tolerance of the plan."),
) -> None:
    """Run the end-to-end demo on SQLite and the built-in CRM emulator."""
    from territory.cli.errors import InputError

    if crm not in ("salesforce", "hubspot"):
        raise InputError(f"--crm must be salesforce or hubspot, not {crm!r}")
    from territory.cli.plan_output import make_console

    console = make_console()
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    for stale in ("demo.db", "demo.db-wal", "demo.db-shm"):
        (folder / stale).unlink(missing_ok=True)
    from territory.emulator import start_emulator

    console.print(Rule("1. Built-in CRM emulator"))
    with start_emulator(accounts=accounts, seed=seed) as emu:
        console.print(f"Emulating the {crm} API with {accounts:,} seeded accounts (messy on purpose).")
        settings = _settings(emu, crm, folder)
        _run_steps(console, emu, settings, folder, time_limit, tolerance, seed)
    console.print(Rule())
    console.print(f"Demo finished in {time.perf_counter() - started:.1f} s. Files in {folder}/.")
    console.print(
        "Next: run `territory sandbox serve --env-file .env` and use `territory sync`, "
        "`territory check`, `territory plan` yourself (see README)."
    )


def _settings(emu: Any, crm: str, folder: Path) -> Any:
    from territory.config import load_settings

    env = {k.lower(): v for k, v in emu.env(crm).items() if k != "TERRITORY_EMULATOR_URL"}
    return load_settings(env_file=None, territory_db_url=f"sqlite:///{folder / 'demo.db'}", **env)


def _run_steps(console: Console, emu: Any, settings: Any, folder: Path, time_limit: float,
               tolerance: float, seed: int) -> None:
    from territory.cli.shared import print_check_report, print_sync_summary
    from territory.connector.factory import build_connector
    from territory.sync import open_store, run_sync
    from territory.sync.conflicts import detect_conflicts
    from territory.sync.draft_rules import draft_rules_yaml

    store = open_store(settings.territory_db_url)
    crm = settings.require_crm()
    console.print(Rule("2. Initial sync into the store"))
    first = run_sync(build_connector(settings), store)
    print_sync_summary(console, first)

    console.print(Rule("3. Rules of engagement drafted from the book"))
    rules_path = folder / "territory.yaml"
    rules_path.write_text(draft_rules_yaml(store, crm), encoding="utf-8")
    from territory import rules
    rule_config = rules.load_rules(rules_path)
    console.print(f"Wrote {rules_path}: {len(rule_config.territories)} territories, "
                  f"{len(rule_config.named_accounts)} named accounts.")

    console.print(Rule("4. Conflicts flagged in the CRM"))
    report = detect_conflicts(store, build_connector(settings), rule_config,
                              changed_ids=first.changed_account_ids)
    print_check_report(console, report)
    again = detect_conflicts(store, build_connector(settings), rule_config)
    console.print(f"Re-run: {again.flagged} new flags, {again.already_flagged} already flagged "
                  "(each conflict is flagged exactly once).")

    console.print(Rule("5. Humans edit 1% of the CRM; incremental sync + inbound check"))
    emu.control.mutate(fraction=0.01, seed=seed)
    second = run_sync(build_connector(settings), store)
    print_sync_summary(console, second)
    inbound = detect_conflicts(store, build_connector(settings), rule_config,
                               changed_ids=second.changed_account_ids)
    console.print(f"Inbound check on {inbound.evaluated} changed/related accounts: "
                  f"{inbound.flagged} new flags, {inbound.resolved} resolved.")

    console.print(Rule("6. Rebalance plan (saved as scenario 'demo')"))
    _plan(console, store, crm, rule_config, folder, time_limit, tolerance, seed)


def _plan(console: Console, store: Any, crm: str, rule_config: Any, folder: Path,
          time_limit: float, tolerance: float, seed: int) -> None:
    from territory.cli.plan_output import run_plan
    from territory.cli.plan_store import scenario_saver
    from territory.planner.instance import PlanOptions
    from territory.sync.planning import build_store_instance

    built = build_store_instance(store, crm, rule_config)
    for note in built.notes:
        console.print(f"  note: {note}")
    options = PlanOptions(tolerance=tolerance, time_limit=time_limit, seed=seed)
    run_plan(built.instance, options, folder / "plan.csv", folder / "metrics.json", console=console,
             on_plan=scenario_saver(console, store, "demo", options))


def register(app: typer.Typer) -> None:
    """Attach `territory demo`."""
    app.command("demo", help=DEMO_HELP)(demo_command)
