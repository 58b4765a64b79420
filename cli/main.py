"""``territory`` command line: parses arguments and prints; the work lives in the packages.

Exit codes: 0 ok, 2 configuration or input error, 3 fatal CRM error, 4 partial success,
5 the store is busy (another command or agent holds the store lease).
"""

from __future__ import annotations

import sys

import typer

from territory.cli import (
    agent_cmd,
    approval_cmd,
    check_cmd,
    demo_cmd,
    market_cmd,
    plan_cmd,
    plan_store,
    report_cmd,
    rules_cmd,
    sandbox_cmd,
    sandbox_ui,
    sync_cmd,
)

app = typer.Typer(
    name="territory",
    help=(
        "territory-agent: sync accounts, owners and open opportunities from Salesforce or "
        "HubSpot, evaluate rules of engagement, plan balanced territories and write approved "
        "changes back with an audit trail."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help: rich's help panels cut long words such as column lists ("id,name,owner_id,in…")
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)



def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version as dist_version

        typer.echo(dist_version("territory-agent"))
        raise typer.Exit()


@app.callback()
def root(
    show_version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True,
        help="Print the installed version and exit.",
    ),
) -> None:
    """territory-agent command line. Settings come from the environment or a .env file."""


@app.command("version")
def version() -> None:
    """Print the installed version of territory-agent."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("territory-agent"))


for module in (sandbox_cmd, sandbox_ui, sync_cmd, check_cmd, rules_cmd, plan_cmd, plan_store, approval_cmd, report_cmd,
               agent_cmd, demo_cmd, market_cmd):
    module.register(app)


def main() -> None:
    """Console-script entry point."""
    from territory.cli.errors import quiet_third_party_warnings, run_with_exit_codes

    quiet_third_party_warnings()
    sys.exit(run_with_exit_codes(app))


if __name__ == "__main__":
    main()
