"""Salesforce connector: simple-salesforce against a real org or the built-in emulator."""

from connector.salesforce.connector import SalesforceConnector
from connector.salesforce.errors import translate_error

__all__ = ["SalesforceConnector", "translate_error"]
