"""The people in the emulated CRMs: reps, managers, an admin and the integration user.

Every user is one owner record seen by both CRMs (Salesforce ``User`` ``005…``; HubSpot owner
``id`` = n, ``userId`` = n + 1,000,000). Roles:

- ``rep``: a seeded user; ``manager``: a rep that another user's ``ManagerId`` points at;
- ``admin``: "Sandbox Admin", may edit every field in the UI;
- ``integration``: "Territory Integration", the user the API token belongs to. Salesforce
  records every API write as this user; HubSpot has no such owner (a private app writes with
  ``sourceType`` ``INTEGRATION``), so it is not listed among HubSpot owners.

Integration user and admin exist once :func:`provision_users` ran (idempotent).
"""

from __future__ import annotations

from typing import Any

from territory.emulator.state import CrmState, EmuOwner, sf_id

HUBSPOT_USER_OFFSET = 1_000_000
_DOMAIN = "territory-sandbox.example"
_SPECIAL = {
    "integration": ("Territory", "Integration", f"integration@{_DOMAIN}"),
    "admin": ("Sandbox", "Admin", f"admin@{_DOMAIN}"),
}


def provision_users(state: CrmState) -> dict[str, Any]:
    """Create the integration user and the admin unless they exist; both as :func:`user_view`."""
    with state.lock:
        for role, (first, last, email) in _SPECIAL.items():
            existing = next((o for o in state.owners.values() if o.role == role), None)
            if existing is None:
                n = state.next_n()
                while n in state.owners:
                    n = state.next_n()
                stamp = state.tick()
                existing = EmuOwner(n, first, last, email, role=role, created_at=stamp, modified_at=stamp)
                state.owners[n] = existing
            setattr(state, f"{role}_n", existing.n)
        return {role: user_view(state, state.owners[getattr(state, f"{role}_n")]) for role in _SPECIAL}


def user_role(state: CrmState, owner: EmuOwner) -> str:
    """``integration``, ``admin``, ``manager`` (someone reports to them) or ``rep``."""
    if owner.role in _SPECIAL:
        return owner.role
    if any(o.manager_n == owner.n for o in state.owners.values()):
        return "manager"
    return "rep"


def hubspot_user_id(owner: EmuOwner) -> int:
    return owner.n + HUBSPOT_USER_OFFSET


def is_hubspot_owner(owner: EmuOwner) -> bool:
    """Whether HubSpot lists the user as an owner (the private app's user is none)."""
    return owner.role != "integration"


def user_view(state: CrmState, owner: EmuOwner) -> dict[str, Any]:
    """One user as the control API lists it."""
    return {
        "n": owner.n, "sf_id": sf_id("owner", owner.n),
        "hs_owner_id": str(owner.n) if is_hubspot_owner(owner) else None,
        "hs_user_id": hubspot_user_id(owner),
        "name": f"{owner.first_name} {owner.last_name}".strip(), "email": owner.email,
        "role": user_role(state, owner), "manager_n": owner.manager_n,
        "manager_sf_id": sf_id("owner", owner.manager_n) if owner.manager_n is not None else None,
        "teams": list(owner.teams), "is_active": owner.is_active,
    }


def find_user(state: CrmState, ref: str | int) -> EmuOwner | None:
    """A user by n, Salesforce user id, HubSpot owner id / user id, email or full name."""
    text = str(ref).strip()
    lowered = text.lower()
    for owner in state.owners.values():
        full_name = f"{owner.first_name} {owner.last_name}".lower()
        if lowered in (owner.email.lower(), full_name) or text in (
                str(owner.n), str(hubspot_user_id(owner)), sf_id("owner", owner.n), sf_id("owner", owner.n)[:15]):
            return owner
    return None


def list_users(state: CrmState) -> list[dict[str, Any]]:
    with state.lock:
        return [user_view(state, o) for _, o in sorted(state.owners.items())]
