"""Links to a record's page in the CRM's own user interface (for reports and messages).

Salesforce: the Lightning record page, ``https://<my-domain>.lightning.force.com/lightning/r/
Account/<id>/view``, built from ``SF_INSTANCE_URL`` (a ``*.my.salesforce.com`` host becomes its
``*.lightning.force.com`` twin; any other host, e.g. a sandbox emulator, is kept as it is).
HubSpot: the company record, ``https://app.hubspot.com/contacts/<portal>/company/<id>``, built
from ``HUBSPOT_PORTAL_ID``. Without those settings there is no link (None).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote, urlsplit

from territory.config.settings import Settings

AccountLink = Callable[[str], str | None]

_SF_OBJECT = {"accounts": "Account", "opportunities": "Opportunity", "owners": "User"}
_HS_OBJECT = {"accounts": "company", "opportunities": "deal"}
HUBSPOT_APP = "https://app.hubspot.com"


def salesforce_base(instance_url: str) -> str:
    """The Lightning host for an instance URL."""
    parts = urlsplit(instance_url if "://" in instance_url else f"https://{instance_url}")
    host = parts.netloc
    if host.endswith(".my.salesforce.com"):
        host = host.removesuffix(".my.salesforce.com") + ".lightning.force.com"
    return f"{parts.scheme or 'https'}://{host}"


def build_record_link(settings: Settings, crm: str | None, kind: str = "accounts") -> Callable[[str], str | None]:
    """A function from record id to its CRM page URL (always None where settings lack the host)."""
    if crm == "salesforce" and settings.sf_instance_url and kind in _SF_OBJECT:
        base, sobject = salesforce_base(settings.sf_instance_url), _SF_OBJECT[kind]
        return lambda record_id: f"{base}/lightning/r/{sobject}/{quote(record_id)}/view"
    if crm == "hubspot" and settings.hubspot_portal_id and kind in _HS_OBJECT:
        portal, what = quote(settings.hubspot_portal_id), _HS_OBJECT[kind]
        return lambda record_id: f"{HUBSPOT_APP}/contacts/{portal}/{what}/{quote(record_id)}"
    return lambda record_id: None
