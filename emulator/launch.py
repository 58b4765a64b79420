"""Start a seeded emulator in this process and tell clients how to reach it.

    with start_emulator(accounts=2000, seed=7) as emu:
        env = emu.env("salesforce")      # TERRITORY_CRM, SF_*, HUBSPOT_*, TERRITORY_CA_FILE
        emu.control.update("accounts", 42, {"industry": "MedTech"})

The API flavours (``emulator.salesforce_api.SalesforceApi``, ``emulator.hubspot_api.HubSpotApi``)
are imported only when asked for, so a missing one fails with a clear message instead of an
import error at start-up.
"""

from __future__ import annotations

import errno
import importlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from territory.emulator.control import CONTROL_PREFIX, EmulatorControl, install_control
from territory.emulator.seed import SeedReport, seed_state
from territory.emulator.server import ApiFlavour, EmulatorServer, FaultPlan
from territory.emulator.state import HUBSPOT_PORTAL_ID, CrmState

CrmName = Literal["salesforce", "hubspot"]
FLAVOURS: dict[str, tuple[str, str]] = {
    "salesforce": ("territory.emulator.salesforce_api", "SalesforceApi"),
    "hubspot": ("territory.emulator.hubspot_api", "HubSpotApi"),
}
ENV_KEYS = (
    "TERRITORY_CRM", "TERRITORY_CA_FILE", "SF_INSTANCE_URL", "SF_ACCESS_TOKEN",
    "HUBSPOT_ACCESS_TOKEN", "HUBSPOT_BASE_URL", "HUBSPOT_PORTAL_ID", "TERRITORY_EMULATOR_URL",
)


class EmulatorSetupError(Exception):
    """The emulator cannot start (missing API module, port in use, bad argument).

    ``next_step`` says what the user should do about it.
    """

    def __init__(self, message: str, next_step: str = "") -> None:
        super().__init__(message)
        self.next_step = next_step


def build_flavour(name: str) -> ApiFlavour:
    """Instantiate the API flavour called ``name`` (``salesforce`` or ``hubspot``)."""
    if name not in FLAVOURS:
        raise EmulatorSetupError(f"unknown CRM API {name!r}", f"use one of {', '.join(FLAVOURS)}")
    module_name, class_name = FLAVOURS[name]
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
    except (ImportError, AttributeError) as exc:
        raise EmulatorSetupError(
            f"the {name} API of the emulator is not available ({module_name}.{class_name}: {exc})",
            "reinstall territory-agent (pip install -e .) or serve only the other CRM",
        ) from None
    flavour: ApiFlavour = cls()
    return flavour


def available_flavours(names: Iterable[str] = FLAVOURS) -> list[str]:
    """Which of ``names`` can be imported right now."""
    found = []
    for name in names:
        try:
            build_flavour(name)
        except EmulatorSetupError:
            continue
        found.append(name)
    return found


@dataclass
class RunningEmulator:
    """A started emulator: its data, server, URLs, token and control handle."""

    state: CrmState
    server: EmulatorServer
    control: EmulatorControl
    token: str
    seed_report: SeedReport | None = None
    flavour_names: tuple[str, ...] = field(default=())

    @property
    def https_url(self) -> str:
        """Base URL of the TLS port (Salesforce clients; HubSpot works here too)."""
        return self.server.https_url

    @property
    def http_url(self) -> str:
        """Base URL of the plain-http port (HubSpot client, control API)."""
        return self.server.http_url

    @property
    def control_url(self) -> str:
        """Base URL of the control API (``/_emulator``)."""
        return self.http_url + CONTROL_PREFIX

    @property
    def ca_file(self) -> Path:
        """The emulator's CA certificate (in a temporary folder removed on :meth:`stop`)."""
        return Path(self.server.ca_file)

    def env(self, crm: CrmName = "salesforce", ca_file: Path | None = None) -> dict[str, str]:
        """The settings a client needs to reach this emulator (both CRMs' sets).

        Args:
            crm: Value for ``TERRITORY_CRM``; switching CRM is that one setting.
            ca_file: Where the CA certificate is (default: the server's own copy).
        """
        if crm not in FLAVOURS:
            raise EmulatorSetupError(f"unknown CRM {crm!r}", f"use one of {', '.join(FLAVOURS)}")
        return {
            "TERRITORY_CRM": crm,
            "TERRITORY_CA_FILE": str(ca_file or self.ca_file),
            "SF_INSTANCE_URL": self.https_url,
            "SF_ACCESS_TOKEN": self.token,
            "HUBSPOT_ACCESS_TOKEN": self.token,
            "HUBSPOT_BASE_URL": self.http_url,
            "HUBSPOT_PORTAL_ID": str(HUBSPOT_PORTAL_ID),
            "TERRITORY_EMULATOR_URL": self.http_url,
        }

    def write_env_file(self, path: str | Path, crm: CrmName = "salesforce") -> Path:
        """Write :meth:`env` to ``path`` (atomically) and copy the CA next to it.

        The server's CA lives in a temporary folder that disappears when the emulator stops;
        the copy (``<env file name>.ca.pem``) survives, so the env file stays usable.

        Returns:
            The path of the copied CA file.
        """
        target = Path(path).expanduser().resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        ca_copy = target.with_name(target.name + ".ca.pem")
        shutil.copyfile(self.ca_file, ca_copy)
        lines = [
            "# Written by `territory sandbox serve`: settings to reach the built-in CRM emulator.",
            "# Load in a shell with: set -a; . THIS_FILE; set +a",
            "# Switch CRM by changing TERRITORY_CRM (salesforce | hubspot); both sets are here.",
        ]
        lines += [f"{key}={_shell_quote(value)}" for key, value in self.env(crm, ca_copy).items()]
        fd, tmp = tempfile.mkstemp(prefix=".env-", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o600)  # it holds a token
        os.replace(tmp, target)
        return ca_copy

    def stop(self) -> None:
        """Shut both ports down and remove the temporary CA folder."""
        self.server.stop()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(
    accounts: int = 1000,
    seed: int = 7,
    fault_rate: float = 0.0,
    port: int = 0,
    http_port: int = 0,
    flavours: Sequence[str | ApiFlavour] = ("salesforce", "hubspot"),
    *,
    owners: int | None = None,
    opportunities: int | None = None,
    token: str | None = None,
    host: str = "127.0.0.1",
    state: CrmState | None = None,
    malformed: bool = True,
    provision_users: bool = False,
) -> RunningEmulator:
    """Seed a :class:`CrmState`, start the server on both ports and return a handle.

    Args:
        accounts: Accounts to seed (0 seeds nothing, e.g. with your own ``state``).
        seed: Seed for the data and for the fault draws.
        fault_rate: Share (0..1) of API calls answered with an injected fault.
        port: TLS port (0 = any free port).
        http_port: Plain-http port (0 = any free port).
        flavours: API names (``salesforce``, ``hubspot``) or ready ``ApiFlavour`` objects.
        owners: Owners to seed (default scales with ``accounts``).
        opportunities: Open opportunities to seed (default ``accounts // 5``).
        token: Bearer token the APIs accept (default: a random one).
        host: Interface to bind; keep loopback unless you know why not.
        state: Use this state instead of a new one.
        malformed: Seed the ~0.2% malformed accounts (see :func:`emulator.seed.seed_state`).
        provision_users: Add the integration user (whose token the APIs act as) and the admin
            (see :mod:`emulator.users`).

    Raises:
        EmulatorSetupError: an API module is missing, a port is taken or an argument is bad.
    """
    if not 0 <= fault_rate <= 1:
        raise EmulatorSetupError(f"fault rate {fault_rate} is outside 0..1", "pass e.g. 0.1 for 10%")
    if accounts < 0:
        raise EmulatorSetupError(f"accounts must not be negative (got {accounts})")
    built = [build_flavour(f) if isinstance(f, str) else f for f in flavours]
    state = state or CrmState()
    report = seed_state(state, accounts=accounts, seed=seed, owners=owners,
                        opportunities=opportunities, malformed=malformed) if accounts else None
    bearer = token or f"emu-{secrets.token_urlsafe(24)}"
    try:
        server = EmulatorServer(state, built, host=host, port=port, http_port=http_port,
                                tokens={bearer}, faults=FaultPlan(rate=fault_rate, seed=seed))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            ports = "/".join(str(p) for p in (port, http_port) if p) or "?"
            raise EmulatorSetupError(
                f"port {ports} on {host} is already in use",
                "pick other ports with --port/--http-port (0 = any free port) or stop the "
                "process holding it (e.g. `ss -ltnp | grep PORT`)",
            ) from None
        raise EmulatorSetupError(f"cannot open the emulator's ports: {exc}") from None
    control = install_control(server)
    if provision_users:
        control.provision_users()
    server.start()
    return RunningEmulator(state=state, server=server, control=control, token=bearer,
                           seed_report=report, flavour_names=tuple(f.name for f in built))


def _shell_quote(value: str) -> str:
    """Quote for both POSIX shells and dotenv parsers when needed."""
    if value and all(c.isalnum() or c in "-_./:@+=," for c in value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"


__all__ = ["ENV_KEYS", "EmulatorSetupError", "RunningEmulator", "available_flavours",
           "build_flavour", "start_emulator"]
