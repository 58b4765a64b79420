"""Built-in CRM emulator: the subset of the Salesforce REST and HubSpot CRM v3 APIs we use."""

from territory.emulator.control import EmulatorControl
from territory.emulator.launch import EmulatorSetupError, RunningEmulator, start_emulator
from territory.emulator.mutate import MutationReport, mutate_state
from territory.emulator.seed import SeedReport, seed_state
from territory.emulator.server import EmulatorServer, FaultPlan, Request, Response, Router
from territory.emulator.state import CrmState

__all__ = [
    "CrmState",
    "EmulatorControl",
    "EmulatorServer",
    "EmulatorSetupError",
    "FaultPlan",
    "MutationReport",
    "Request",
    "Response",
    "Router",
    "RunningEmulator",
    "SeedReport",
    "mutate_state",
    "seed_state",
    "start_emulator",
]
