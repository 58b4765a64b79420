"""Build the configured CRM connector; implementations are imported only when chosen."""

from __future__ import annotations


from config.settings import Settings
from connector.base import CrmConnector


def build_connector(settings: Settings) -> CrmConnector:
    """The connector for ``settings.territory_crm`` (credentials checked first).

    Raises:
        config.SettingsError: The CRM or its credentials are not configured.
        connector.errors.CrmError: The connector could not reach or log in to the CRM.
    """
    crm = settings.require_crm()
    if crm == "salesforce":
        from connector.salesforce import SalesforceConnector

        return SalesforceConnector.from_settings(settings)
    from connector.hubspot import HubSpotConnector

    return HubSpotConnector.from_settings(settings)
