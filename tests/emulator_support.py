"""Helpers for the emulator tests: the vendors' Python clients pointed at a running emulator."""

from __future__ import annotations

import requests
from hubspot import HubSpot
from simple_salesforce import Salesforce

from territory.emulator import RunningEmulator


def salesforce_client(emu: RunningEmulator, token: str, version: str = "59.0") -> Salesforce:
    """simple-salesforce trusting the emulator's CA (``sf.mdapi`` too) and ignoring proxies."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emu.ca_file)
    sf = Salesforce(instance_url=emu.https_url, session_id=token, session=session, version=version)
    sf.mdapi._client.transport.session = session  # zeep has its own session, blind to the CA
    return sf


def hubspot_client(emu: RunningEmulator, token: str) -> HubSpot:
    return HubSpot(access_token=token, host=emu.http_url)
