"""Map our exceptions to exit codes and readable messages (no tracebacks for known errors)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

EXIT_OK = 0
EXIT_CONFIG = 2
EXIT_FATAL_CRM = 3
EXIT_PARTIAL = 4
EXIT_BUSY = 5
EXIT_CONFLICTS_OPEN = 6  # `territory check`: it worked, and conflicts are open (1 stays "crashed")


class InputError(Exception):
    """Bad user input (file, row, value): exit code 2 with the message as is."""


def run_with_exit_codes(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run the Typer app, turning known errors into messages and exit codes.

    Typer/Click handle usage errors themselves (exit 2); our own errors are caught here.
    """
    real_stdout = sys.stdout
    sys.stdout = _ClosedPipeGuard(real_stdout)  # type: ignore[assignment]
    try:
        app(args=args, standalone_mode=True)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except OutputClosed:
        return _stdout_closed()
    except InputError as exc:
        typer.secho(f"Input error: {exc}", err=True, fg="red")
        return EXIT_CONFIG
    except Exception as exc:
        code = _known_error_exit(exc)
        return _unexpected(exc) if code is None else code
    finally:
        sys.stdout = real_stdout
    return EXIT_OK


class OutputClosed(Exception):
    """Whoever read our standard output closed it (``| head``); raised instead of the pipe
    error so the command stops quietly (Click would turn a broken pipe into exit code 1)."""


class _ClosedPipeGuard:
    """Standard output whose broken pipe becomes :class:`OutputClosed`."""

    def __init__(self, wrapped: Any) -> None:
        self._wrapped = wrapped

    def write(self, text: str) -> int:
        try:
            return int(self._wrapped.write(text))
        except BrokenPipeError:
            raise OutputClosed() from None

    def flush(self) -> None:
        try:
            self._wrapped.flush()
        except BrokenPipeError:
            raise OutputClosed() from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


def quiet_third_party_warnings() -> None:
    """Send Python warnings (a library's deprecation or version notice) to a log file in the
    error-log folder instead of the user's output; ``-W``/PYTHONWARNINGS still take effect."""
    import warnings

    if sys.warnoptions:
        return

    def to_log(message: Warning | str, category: type[Warning], filename: str, lineno: int,
               file: Any = None, line: str | None = None) -> None:
        try:
            folder = error_log_dir()
            folder.mkdir(parents=True, exist_ok=True)
            handle = os.open(folder / "warnings.log", os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
            with os.fdopen(handle, "a", encoding="utf-8") as out:
                out.write(warnings.formatwarning(message, category, filename, lineno, line))
        except OSError:
            pass  # a warning is never worth failing a command for

    warnings.showwarning = to_log


def _stdout_closed() -> int:
    """The reader of our output went away (``territory export ... | head``): not an error.
    Point stdout at /dev/null so the interpreter's final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (tests): nothing to silence
        pass
    return EXIT_OK


def _unexpected(exc: BaseException) -> int:
    """A bug or an unforeseen failure: one line on stderr (the error's type, never its text,
    which may quote customer records) and the full traceback in a private log file."""
    where = write_error_log(exc)
    typer.secho(
        f"Unexpected error ({type(exc).__name__}); the full log is in {where}. "
        "Please report it with that file (check it for customer data first).",
        err=True, fg="red",
    )
    return 1


def error_log_dir() -> Path:
    """Where tracebacks of unexpected errors go: $TERRITORY_LOG_DIR, else the user's state
    folder ($XDG_STATE_HOME or ~/.local/state)/territory/logs."""
    if os.environ.get("TERRITORY_LOG_DIR"):
        return Path(os.environ["TERRITORY_LOG_DIR"])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "territory" / "logs"


def write_error_log(exc: BaseException) -> Path:
    """Write ``exc``'s traceback to a new file readable by the user only; returns its path
    (a temporary folder's when the state folder cannot be written)."""
    import tempfile
    import traceback
    from datetime import UTC, datetime

    text = "".join(traceback.format_exception(exc))
    name = f"error-{datetime.now(UTC):%Y%m%d-%H%M%S}-{os.getpid()}.log"
    for folder in (error_log_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            handle = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(f"territory {' '.join(sys.argv[1:3])}\n{text}")
            return path
        except OSError:
            continue
    return Path("(nowhere: no writable folder)")


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
    if _is_sqlite_locked(exc):
        typer.secho("Busy: the store's database is locked by another process (one that does not take the "
                    "store lease, e.g. a database tool); wait for it and run the command again.",
                    err=True, fg="yellow")
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


def _is_sqlite_locked(exc: Exception) -> bool:
    """SQLite's "database is locked" (busy timeout ran out), whatever wraps it."""
    import sqlite3

    cause = getattr(exc, "orig", exc)
    return isinstance(cause, sqlite3.OperationalError) and "locked" in str(cause)
