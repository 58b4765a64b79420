"""Creating CRM accounts for market prospects, exactly once: the record and its marker.

A planned prospect becomes an account (Salesforce) or company (HubSpot) owned by its
planned rep. A create is not idempotent on either CRM, so every request carries a key that
the connector writes as the marker ``[territory:KEY]`` at the end of the record's
description; after an ambiguous failure (a lost answer, a dropped connection, a 5xx) the
connector reads records of the same names back and reuses the one carrying the marker
instead of sending the create again. :meth:`AccountCreator.find_created_accounts` does the
same read-back for callers whose process died between sending and recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from territory.connector.markers import with_body_marker
from territory.connector.records import WriteResult


@dataclass(frozen=True)
class NewAccount:
    """An account to create; ``key`` is its idempotency key (written as the marker)."""

    key: str
    name: str
    owner_id: str
    description: str
    domain: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    industry: str | None = None  # for the description: the CRMs' industry fields are picklists
    employees: float | None = None
    annual_revenue: float | None = None
    phone: str | None = None


def description_with_marker(request: NewAccount) -> str:
    """The description text ending in ``[territory:KEY]`` on its own line."""
    return with_body_marker(request.description.rstrip(), request.key)


@runtime_checkable
class AccountCreator(Protocol):
    """Account creation with marker read-back, which both CRM connectors implement."""

    crm: str

    def create_accounts(self, requests: Sequence[NewAccount]) -> list[WriteResult]:
        """Create the accounts, batched; results in input order (``created_id`` the CRM id).
        An ambiguous failure is reconciled by marker before anything is sent again."""
        ...

    def find_created_accounts(self, requests: Sequence[NewAccount]) -> dict[str, str]:
        """Key -> CRM id of the requests already created (found by name and marker)."""
        ...
