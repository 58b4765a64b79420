"""Build the configured CRM connector; implementations are imported only when chosen."""

from __future__ import annotations

from territory.config.settings import Settings
from territory.connector.base import CrmConnector


def build_connector(settings: Settings) -> CrmConnector:
    """The connector for ``settings.territory_crm`` (credentials checked first).

    Raises:
        config.SettingsError: The CRM or its credentials are not configured.
        connector.errors.CrmError: The connector could not reach or log in to the CRM.
    """
    crm = settings.require_crm()
    if crm == "salesforce":
        from territory.connector.salesforce import SalesforceConnector

        return SalesforceConnector.from_settings(settings)
    from territory.connector.hubspot import HubSpotConnector

    return HubSpotConnector.from_settings(settings)
