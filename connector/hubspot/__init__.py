"""HubSpot connector on the official ``hubspot-api-client`` (CRM v3 objects, v4 associations)."""

from territory.connector.hubspot.connector import HubSpotConnector
from territory.connector.hubspot.errors import translate_error

__all__ = ["HubSpotConnector", "translate_error"]
