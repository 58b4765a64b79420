"""`territory demo`: the whole job end to end on the embedded defaults, no CRM account needed.

Per CRM: starts the built-in emulator, syncs it into a SQLite store, drafts a rules file,
flags conflicts inside the (emulated) CRM exactly once, syncs a round of human edits, plans a
balanced low-disruption rebalance, then runs the approval loop of :mod:`cli.demo_loop`
(install, publish, managers decide in the CRM's UI, apply, read back).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.rule import Rule

DEMO_HELP = (
    "Run the whole loop end to end on SQLite and the built-in CRM emulator (no CRM needed).\n\n"
    "Steps: sync -> draft rules -> flag conflicts in the CRM (exactly once) -> incremental sync "
    "-> plan a balanced rebalance -> install the approval objects -> publish proposals -> managers "
    "approve (one rejects, one approval does not count, one owner changes underneath) in the CRM's "
    "UI -> apply exactly once with audit notes -> read the CRM back.\n\n"
    "Everything is written to --dir/<crm>/ (SQLite store demo.db, territory.yaml, plan.csv, "
    "metrics.json, report.html with the scenario's before/after); each run resets its folder, but "
    "never replaces a territory.yaml someone edited or the demo did not write (exit 2). --json "
    "PATH writes the figures of every run as {\"runs\": [...]}."
)
CRM_CHOICES = ("salesforce", "hubspot", "both")
RUN_KEYS = ("crm", "accounts", "conflicts_flagged", "proposals", "approved", "rejected", "unauthorized",
            "superseded", "applied", "audit_notes", "owners_match_plan", "max_dev_potential_before",
            "max_dev_potential_after", "elapsed_s")


def demo_command(
    crm: str = typer.Option("both", "--crm", help="Which CRM API to emulate: salesforce, hubspot or both."),
    accounts: int = typer.Option(3000, "--accounts", min=50, help="Accounts to seed in the emulator."),
    seed: int = typer.Option(7, "--seed", help="Seed of the emulator's data and the planner."),
    folder: Path = typer.Option(Path("territory-demo"), "--dir", help="Folder for the demo's files."),
    time_limit: float = typer.Option(15.0, "--time-limit", min=1.0, help="Planner time limit in seconds."),
    tolerance: float = typer.Option(0.05, "--tolerance", min=0.0, help="Balance tolerance of the plan."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the runs' figures to this JSON file ('-': standard output)."),
) -> None:
    """Run the end-to-end demo on SQLite and the built-in CRM emulator."""
    from territory.cli.errors import InputError

    if crm not in CRM_CHOICES:
        raise InputError(f"--crm must be salesforce, hubspot or both, not {crm!r}")
    from territory.cli.plan_output import make_console

    names = ("salesforce", "hubspot") if crm == "both" else (crm,)
    for name in names:
        _refuse_edited_rules(folder / name / "territory.yaml")
    from territory.cli.shared import json_goes_to_stdout, write_json_output

    # with --json - the figures own stdout; the narration goes to stderr
    console = Console(stderr=True, width=120) if json_goes_to_stdout(json_path) else make_console()
    started = time.perf_counter()
    runs = []
    for name in names:
        runs.append(_run_one(console, name, accounts, seed, folder / name, time_limit, tolerance))
    console.print(Rule())
    for run in runs:
        console.print(f"{run['crm']}: {run['applied']} moves applied with {run['audit_notes']} audit notes; "
                      f"max potential deviation {run['max_dev_potential_before']:.0%} -> "
                      f"{run['max_dev_potential_after']:.0%}; CRM owners match plan: {run['owners_match_plan']}; "
                      f"{run['elapsed_s']:.1f} s.")
    if json_path is not None:
        write_json_output(json_path, {"runs": runs})
        console.print(f"Figures written to {'standard output' if json_goes_to_stdout(json_path) else json_path}.")
    console.print(f"Demo finished in {time.perf_counter() - started:.1f} s. Files in {folder}/.")
    console.print(
        "Next: run `territory sandbox serve --env-file .env` and use `territory sync`, `check`, `plan`, "
        "`install`, `propose`, `sandbox decide`, `apply` yourself (see README)."
    )


DEMO_MARK = "# written by `territory demo` (edit a copy: the next demo run replaces this file) sha256="


def _with_demo_mark(text: str) -> str:
    """The rules text under a first line saying the demo wrote it, with the text's hash."""
    return f"{DEMO_MARK}{hashlib.sha256(text.encode()).hexdigest()}\n{text}"


def _refuse_edited_rules(path: Path) -> None:
    """A territory.yaml the demo did not write, or that someone edited since, is not replaced."""
    from territory.cli.errors import InputError

    if not path.exists():
        return
    first, _, rest = path.read_text(encoding="utf-8", errors="replace").partition("\n")
    if first == _with_demo_mark(rest).partition("\n")[0]:
        return
    raise InputError(f"{path} was edited or not written by `territory demo`; the demo would overwrite it. "
                     "Move it away (or copy your edits elsewhere), or pick another --dir.")


def _run_one(console: Console, crm: str, accounts: int, seed: int, folder: Path, time_limit: float,
             tolerance: float) -> dict[str, Any]:
    from territory.emulator import start_emulator

    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    for stale in ("demo.db", "demo.db-wal", "demo.db-shm"):
        (folder / stale).unlink(missing_ok=True)
    console.print(Rule(f"{crm}: 1. Built-in CRM emulator", style="bold"))
    with start_emulator(accounts=accounts, seed=seed) as emu:
        console.print(f"Emulating the {crm} API with {accounts:,} seeded accounts (messy on purpose).")
        settings = _settings(emu, crm, folder)
        run = _run_steps(console, emu, settings, folder, time_limit, tolerance, seed)
    run.update(crm=crm, accounts=accounts, elapsed_s=round(time.perf_counter() - started, 1))
    return {key: run[key] for key in RUN_KEYS}


def _settings(emu: Any, crm: str, folder: Path) -> Any:
    from territory.config import load_settings

    env = {k.lower(): v for k, v in emu.env(crm).items() if k != "TERRITORY_EMULATOR_URL"}
    return load_settings(env_file=None, territory_db_url=f"sqlite:///{folder / 'demo.db'}", **env)


def _run_steps(console: Console, emu: Any, settings: Any, folder: Path, time_limit: float,
               tolerance: float, seed: int) -> dict[str, Any]:
    from territory.cli.shared import print_check_report, print_sync_summary
    from territory.connector.factory import build_connector
    from territory.sync import open_store, run_sync
    from territory.sync.conflicts import detect_conflicts

    store = open_store(settings.territory_db_url)
    console.print(Rule("2. Initial sync into the store"))
    first = run_sync(build_connector(settings), store)
    print_sync_summary(console, first)

    console.print(Rule("3. Rules of engagement drafted from the book"))
    rule_config = _draft_rules(console, emu, store, settings.require_crm(), folder)

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
    instance = _plan(console, store, settings.require_crm(), rule_config, folder, time_limit, tolerance, seed)
    from territory.cli.demo_loop import run_loop

    outcome = run_loop(console, emu, settings, store, rule_config, "demo")
    figures = _balance(console, instance, outcome.after_owners)
    console.print(Rule("11. What the managers see in the CRM"))
    _manager_view(console, settings.require_crm(), outcome)
    _write_report(console, store, settings, rule_config, folder)
    store.close()
    return {"conflicts_flagged": report.flagged + inbound.flagged, **figures,
            **{k: getattr(outcome, k) for k in ("proposals", "approved", "rejected", "unauthorized", "superseded",
                                                 "applied", "audit_notes", "owners_match_plan")}}


def _draft_rules(console: Console, emu: Any, store: Any, crm: str, folder: Path) -> Any:
    from territory import rules
    from territory.cli.shared import approvers_yaml
    from territory.sync.draft_rules import draft_rules_yaml

    rules_path = folder / "territory.yaml"
    text = draft_rules_yaml(store, crm) + approvers_yaml(emu.control.records("owners"), crm)
    rules_path.write_text(_with_demo_mark(text), encoding="utf-8")
    rule_config = rules.load_rules(rules_path)
    console.print(f"Wrote {rules_path}: {len(rule_config.territories)} territories, "
                  f"{len(rule_config.named_accounts)} named accounts, approvers for "
                  f"{len(rule_config.approvers.managers)} reps besides the CRM's managers.")
    return rule_config


def _plan(console: Console, store: Any, crm: str, rule_config: Any, folder: Path,
          time_limit: float, tolerance: float, seed: int) -> Any:
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
    return built.instance


def _balance(console: Console, instance: Any, after_owners: dict[str, str | None]) -> dict[str, float]:
    """Balance before (the plan's starting book) and after (the CRM's owners read back)."""
    from territory.cli.demo_loop import print_balance
    from territory.planner import balance_summary, current_assignment, rep_rows

    after = {a.id: after_owners.get(a.id, a.owner_id) for a in instance.accounts}
    print_balance(console, rep_rows(instance, after))
    return {"max_dev_potential_before": round(balance_summary(instance, current_assignment(instance))
                                              ["max_deviation_potential"], 4),
            "max_dev_potential_after": round(balance_summary(instance, after)["max_deviation_potential"], 4)}


def _manager_view(console: Console, crm: str, outcome: Any) -> None:
    states = ", ".join(f"{state}: {n}" for state, n in sorted(outcome.states.items()))
    if crm == "salesforce":
        console.print("List view 'Pending territory proposals' on Territory Reassignments; each record shows "
                      "from/to, the reason in words, status history (who decided, when) and the agent's note.")
    else:
        console.print("Company property group 'Territory management' with proposal status, proposed owner and "
                      "reason; a task per proposal for the approving manager; notes on every changed company.")
    console.print(f"Proposals by state: {states}. Every applied move has its audit note on the account "
                  f"({outcome.audit_notes}) naming from, to, reason, approver and times.")


def _write_report(console: Console, store: Any, settings: Any, rule_config: Any, folder: Path) -> None:
    try:
        from territory.sync.report.files import ReportRequest, store_report

        store_report(store, settings, settings.require_crm(), rule_config, ReportRequest(out=folder / "report.html", scenario="demo"))
        console.print(f"Territory health report: {folder / 'report.html'}")
    except Exception as exc:  # the report is a by-product here: the loop's figures stand without it
        console.print(f"[yellow]report not written: {exc}[/yellow]")


def register(app: typer.Typer) -> None:
    """Attach `territory demo`."""
    app.command("demo", help=DEMO_HELP)(demo_command)
