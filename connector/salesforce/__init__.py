"""Salesforce connector: simple-salesforce against a real org or the built-in emulator."""

from territory.connector.salesforce.connector import SalesforceConnector
from territory.connector.salesforce.errors import translate_error

__all__ = ["SalesforceConnector", "translate_error"]
