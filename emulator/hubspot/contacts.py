"""HubSpot contacts over the generic store: the same records Salesforce serves as ``Contact``.

Values use the store's neutral attributes (``first_name``, ``owner_n``, ``account_n``...), so
a contact re-owned through one CRM's API reads re-owned through the other's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from territory.emulator.state import CrmState
from territory.emulator.store import Record

_SIMPLE = {"firstname": "first_name", "lastname": "last_name", "email": "email", "jobtitle": "title",
           "phone": "phone"}


class ContactPropertyError(ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f'Property "{name}" does not exist')
        self.name = name


def render_contact(rec: Record, iso: Callable[[Any], str]) -> dict[str, str | None]:
    v = rec.values
    return {
        "firstname": v.get("first_name"), "lastname": v.get("last_name"), "email": v.get("email"),
        "jobtitle": v.get("title"), "phone": v.get("phone"),
        "hubspot_owner_id": None if v.get("owner_n") is None else str(v["owner_n"]),
        "associatedcompanyid": None if v.get("account_n") is None else str(v["account_n"]),
        "createdate": iso(rec.created_at), "lastmodifieddate": iso(rec.modified_at),
        "hs_lastmodifieddate": iso(rec.modified_at), "hs_object_id": str(rec.n),
    }


def contact_changes(state: CrmState, props: dict[str, Any], owner_ref: Callable[[CrmState, Any], int | None]) -> dict[str, Any]:
    """Written contact properties as store values (owner checked like companies' owners)."""
    out: dict[str, Any] = {}
    for name, value in props.items():
        if name in _SIMPLE:
            out[_SIMPLE[name]] = None if value in (None, "") else str(value)
        elif name == "hubspot_owner_id":
            out["owner_n"] = owner_ref(state, value)
        elif name == "associatedcompanyid":
            out["account_n"] = int(value) if value not in (None, "") and str(value).isdigit() else None
        else:
            raise ContactPropertyError(name)
    if "first_name" in out or "last_name" in out:
        out["name"] = None  # recomputed by the Salesforce view on its next save; HubSpot has no Name
    return out
