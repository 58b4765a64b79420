"""Built-in CRM emulator: the subset of the Salesforce REST and HubSpot CRM v3 APIs we use."""

from emulator.server import EmulatorServer, FaultPlan, Request, Response, Router
from emulator.state import CrmState

__all__ = ["CrmState", "EmulatorServer", "FaultPlan", "Request", "Response", "Router"]
