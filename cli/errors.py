"""Map our exceptions to exit codes and readable messages (no tracebacks for known errors)."""

from __future__ import annotations

import typer

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_FATAL_CRM = 3
EXIT_PARTIAL = 4
EXIT_BUSY = 5


class InputError(Exception):
    """Bad user input (file, row, value): exit code 2 with the message as is."""


def run_with_exit_codes(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run the Typer app, turning known errors into messages and exit codes.

    Typer/Click handle usage errors themselves (exit 2); our own errors are caught here.
    """
    try:
        app(args=args, standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except InputError as exc:
        typer.secho(f"Input error: {exc}", err=True, fg="red")
        return EXIT_CONFIG
    except Exception as exc:
        code = _known_error_exit(exc)
        if code is None:
            raise
        return code
    return EXIT_OK


def _known_error_exit(exc: Exception) -> int | None:
    """Message and exit code for settings and CRM errors; None for anything else.

    Imported here, not at the top: whoever raised one of them has imported its module
    already, and ``territory --help`` stays fast.
    """
    from territory.config import SettingsError
    from territory.connector.errors import CrmError, FatalCrmError
    from territory.sync.lease import LeaseBusy

    if isinstance(exc, LeaseBusy):
        typer.secho(f"Busy: {exc}", err=True, fg="yellow")
        return EXIT_BUSY
    if isinstance(exc, SettingsError):
        typer.secho(f"Configuration error: {exc.variable}: {exc.problem}", err=True, fg="red")
        return EXIT_CONFIG
    if isinstance(exc, FatalCrmError):
        typer.secho(f"CRM error: {exc}", err=True, fg="red")
        return EXIT_FATAL_CRM
    if isinstance(exc, CrmError):
        typer.secho(f"CRM error (gave up after retries): {exc}", err=True, fg="red")
        return EXIT_FATAL_CRM
    return None
