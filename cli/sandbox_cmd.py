"""``territory sandbox``: run the built-in CRM emulator and drive it from the shell."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import typer

EXIT_CONFIG = 2
DEFAULT_ENV_FILE = Path(".env")

sandbox_app = typer.Typer(
    name="sandbox",
    help=(
        "Built-in CRM emulator: a local server speaking the Salesforce REST and HubSpot CRM v3 "
        "APIs over seeded, realistically messy B2B data, so `territory sync` can run without a "
        "real org. Start it with `serve` (and `wait` for it in scripts); drive a running one with "
        "`status`, `mutate`, `faults` and `expire-token`; play people in its UI with `ui-edit` and `decide`."
    ),
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the main app."""
    app.add_typer(sandbox_app, name="sandbox")


def _fail(message: str, next_step: str = "") -> typer.Exit:
    typer.secho(f"Error: {message}", err=True, fg="red")
    if next_step:
        typer.secho(f"Next step: {next_step}", err=True)
    return typer.Exit(EXIT_CONFIG)


_SERVE_HELP = (
    "Run the CRM emulator in the foreground until Ctrl-C.\n\n"
    "Seeds owners, accounts and open opportunities (German and international companies, skewed "
    "historical ownership, duplicates by domain, unowned accounts, an inactive owner, missing "
    "postal codes), serves the Salesforce API on an https port and the HubSpot API on an http "
    "port, and with --env-file writes TERRITORY_CRM, SF_*, HUBSPOT_* and TERRITORY_CA_FILE for "
    "`territory sync` (load it with: set -a; . PATH; set +a)."
)


@sandbox_app.command("serve", help=_SERVE_HELP)
def serve(
    port: int = typer.Option(0, "--port", help="TLS port (Salesforce API; 0 = any free port)."),
    http_port: int = typer.Option(0, "--http-port", help="Plain-http port (HubSpot API, control API; 0 = any)."),
    accounts: int = typer.Option(1000, "--accounts", min=0, help="Accounts to seed."),
    opportunities: int | None = typer.Option(None, "--opportunities", min=0, help="Open opportunities to seed (default: accounts/5)."),
    owners: int | None = typer.Option(None, "--owners", min=4, help="Owners to seed (default: accounts/330, 8..300)."),
    seed: int = typer.Option(7, "--seed", help="Seed: same seed, same data."),
    fault_rate: float = typer.Option(0.0, "--fault-rate", min=0.0, max=1.0, help="Share of API calls answered with a 429/5xx, expired session or dropped connection."),
    env_file: Path | None = typer.Option(None, "--env-file", help="Write the settings a client needs here (plus a copy of the emulator's CA next to it)."),
    crm: str = typer.Option("salesforce", "--crm", help="TERRITORY_CRM written to the env file: salesforce or hubspot."),
    malformed: bool = typer.Option(True, "--malformed/--no-malformed", help="Seed ~0.2% malformed accounts (sync reports them as skipped and exits 4)."),
) -> None:
    """Run the CRM emulator in the foreground until Ctrl-C (help text: ``_SERVE_HELP``)."""
    from territory.emulator.launch import (
        FLAVOURS,
        EmulatorSetupError,
        available_flavours,
        start_emulator,
    )

    if crm not in FLAVOURS:
        raise _fail(f"--crm {crm!r} is not a CRM the emulator speaks", "use --crm salesforce or --crm hubspot")
    names = available_flavours()
    for missing in (n for n in FLAVOURS if n not in names):
        typer.secho(f"Warning: the {missing} API is not available in this installation; serving without it.",
                    err=True, fg="yellow")
    if not names:
        raise _fail("no CRM API module of the emulator can be imported", "reinstall: pip install -e .")
    typer.echo(f"Seeding {accounts:,} accounts (seed {seed})...")
    try:
        emu = start_emulator(accounts=accounts, seed=seed, fault_rate=fault_rate, port=port,
                             http_port=http_port, flavours=names, owners=owners,
                             opportunities=opportunities, malformed=malformed)
    except EmulatorSetupError as exc:
        raise _fail(str(exc), exc.next_step) from None
    try:
        try:
            ca_copy = emu.write_env_file(env_file, crm) if env_file else None  # type: ignore[arg-type]
        except OSError as exc:
            raise _fail(f"cannot write the env file {env_file}: {exc}",
                        "pass --env-file with a path in a writable folder") from None
        _print_banner(emu, fault_rate, env_file, ca_copy)
        _wait_for_stop()
    finally:
        emu.stop()
        typer.echo("Emulator stopped.")


def _print_banner(emu: Any, fault_rate: float, env_file: Path | None, ca_copy: Path | None) -> None:
    report = emu.seed_report
    typer.secho("CRM emulator running (Ctrl-C to stop)", fg="green", bold=True)
    if "salesforce" in emu.flavour_names:
        typer.echo(f"  Salesforce REST  {emu.https_url}  (TLS, CA {ca_copy or emu.ca_file})")
    if "hubspot" in emu.flavour_names:
        typer.echo(f"  HubSpot CRM v3   {emu.http_url}")
    typer.echo(f"  Control API      {emu.control_url}/state")
    if report is not None:
        typer.echo(f"  Seeded           {report.owners:,} owners, {report.accounts:,} accounts, "
                   f"{report.opportunities:,} open opportunities in {report.seconds:.1f} s")
        typer.echo(f"  Planted mess     {report.unowned_accounts:,} unowned, "
                   f"{report.duplicate_domain_accounts:,} sharing a domain, "
                   f"{report.missing_postal_codes:,} without postal code, "
                   f"{report.malformed_accounts:,} malformed, {report.tie_groups:,} modified-time ties, "
                   "1 inactive owner with accounts, 1 new hire without")
    typer.echo(f"  Fault rate       {fault_rate:g}")
    if env_file is not None:
        shown = env_file.expanduser().resolve()
        typer.echo(f"  Env file         {shown} (CA copy {ca_copy})")
        typer.echo(f"In another shell: set -a; . {shown}; set +a; territory sync")
        if shown.name == ".env":
            typer.echo(f"  (or run `territory sync` in {shown.parent}: settings are read from ./.env)")
    else:
        typer.echo("Settings for a client (or pass --env-file PATH to write them to a file):")
        for key, value in emu.env().items():
            typer.echo(f"  export {key}={value}")


def _wait_for_stop() -> None:
    """Sleep until Ctrl-C or SIGTERM (both end the command cleanly)."""

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        typer.echo("")
    finally:
        signal.signal(signal.SIGTERM, previous)


# commands against a running emulator ---------------------------------------------------------

_URL_OPTION = typer.Option(None, "--url", help="Emulator base URL, e.g. http://127.0.0.1:8080 (default: from the env file).")
_ENV_OPTION = typer.Option(DEFAULT_ENV_FILE, "--env-file", help="Env file written by `sandbox serve --env-file`.")
_JSON_OPTION = typer.Option(False, "--json", help="Print the raw JSON answer.")


@sandbox_app.command("status")
def status(url: str | None = _URL_OPTION, env_file: Path = _ENV_OPTION, as_json: bool = _JSON_OPTION) -> None:
    """Show a running emulator's record counts, API calls and fault plan."""
    answer = _call(_control_base(url, env_file), "GET", "/state")
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    for kind, counts in answer["counts"].items():
        typer.echo(f"{kind:<14} " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    typer.echo("API calls      " + ", ".join(f"{k} {v:,}" for k, v in answer["api_calls"].items()))
    faults = answer["faults"]
    typer.echo(f"faults         rate {faults['rate']:g}, injected {faults['injected'] or 'none'}")


@sandbox_app.command("mutate")
def mutate(
    fraction: float = typer.Option(0.01, "--fraction", min=0.0, max=1.0, help="Share of accounts and of opportunities to change."),
    seed: int = typer.Option(1, "--seed", help="Seed of the changes."),
    url: str | None = _URL_OPTION, env_file: Path = _ENV_OPTION, as_json: bool = _JSON_OPTION,
) -> None:
    """Change a share of accounts and opportunities as humans would (edits, deletes, new ones)."""
    answer = _call(_control_base(url, env_file), "POST", "/mutate", {"fraction": fraction, "seed": seed})
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    for kind, counts in answer.items():
        typer.echo(f"{kind:<14} " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


@sandbox_app.command("faults")
def faults(
    rate: float | None = typer.Option(None, "--rate", min=0.0, max=1.0, help="Share of API calls to fail from now on."),
    script: str | None = typer.Option(None, "--script", help="Comma-separated faults to serve next, in order (rate_limit, server_error, expired_session, drop_connection)."),
    url: str | None = _URL_OPTION, env_file: Path = _ENV_OPTION, as_json: bool = _JSON_OPTION,
) -> None:
    """Show or change the fault injection of a running emulator."""
    body: dict[str, Any] = {}
    if rate is not None:
        body["rate"] = rate
    if script is not None:
        body["script"] = [s.strip() for s in script.split(",") if s.strip()]
    base = _control_base(url, env_file)
    answer = _call(base, "POST", "/faults", body) if body else _call(base, "GET", "/faults")
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    typer.echo(f"rate {answer['rate']:g}; next scripted {answer['script'] or 'none'}; injected {answer['injected'] or 'none'}")


@sandbox_app.command("expire-token")
def expire_token(url: str | None = _URL_OPTION, env_file: Path = _ENV_OPTION) -> None:
    """Revoke the emulator's tokens: every API call then gets 401 (to test re-authentication)."""
    answer = _call(_control_base(url, env_file), "POST", "/expire-token", {})
    typer.echo(f"revoked {answer['revoked']} token(s)")


@sandbox_app.command("wait")
def wait(
    timeout: float = typer.Option(60.0, "--timeout", min=0.0, help="Seconds to wait before giving up."),
    url: str | None = _URL_OPTION, env_file: Path = _ENV_OPTION,
) -> None:
    """Wait until an emulator started with `serve --env-file` answers (for scripts and CI)."""
    deadline = time.monotonic() + timeout
    while True:
        base = url or _read_env_value(env_file, "TERRITORY_EMULATOR_URL")
        if base:
            try:
                answer = _fetch(base.rstrip("/") + "/_emulator/health", "GET", None)
            except (urllib.error.URLError, OSError, ValueError):
                answer = None
            if answer and answer.get("ok"):
                typer.echo(f"emulator ready at {base} ({', '.join(answer['flavours'])})")
                return
        if time.monotonic() >= deadline:
            raise _fail(f"no emulator answered within {timeout:g} s (env file {env_file}, url {base or 'unknown'})",
                        "start one with `territory sandbox serve --env-file PATH` and pass the same PATH")
        time.sleep(0.2)


def _control_base(url: str | None, env_file: Path) -> str:
    """Base URL of the control API from --url, the env file or TERRITORY_EMULATOR_URL."""
    base = url or _read_env_value(env_file, "TERRITORY_EMULATOR_URL") or os.environ.get("TERRITORY_EMULATOR_URL")
    if not base:
        raise _fail(
            f"no emulator URL (no --url, and {env_file} has no TERRITORY_EMULATOR_URL)",
            "pass --url http://127.0.0.1:PORT or --env-file PATH written by `territory sandbox serve --env-file PATH`",
        )
    return base.rstrip("/") + "/_emulator"


def _read_env_value(env_file: Path, key: str) -> str | None:
    try:
        lines = env_file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        name, sep, value = line.strip().partition("=")
        if sep and name.strip().removeprefix("export ").strip() == key:
            return value.strip().strip("'\"")
    return None


def _fetch(url: str, method: str, body: dict[str, Any] | None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    with opener.open(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def _call(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    try:
        return _fetch(base + path, method, body)
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise _fail(f"the emulator answered {exc.code} to {method} {path}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise _fail(f"cannot reach the emulator at {base}: {exc}",
                    "start it with `territory sandbox serve --env-file .env`, or check --url/--env-file") from None
