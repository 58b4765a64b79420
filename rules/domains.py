"""Website domains: normalisation and an index of which accounts share a domain.

Two accounts with the same normalised domain are probably the same company; when they have
different owners that is a ``duplicate`` conflict. The index also answers the inbound-sync
question "which other accounts must be re-evaluated when this one changes?".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def normalize_domain(raw: str | None) -> str:
    """``https://www.Bosch.de/en/`` -> ``bosch.de``; empty for a missing domain."""
    if not raw:
        return ""
    text = raw.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    text = text.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".")
    return text[4:] if text.startswith("www.") else text


@dataclass(frozen=True)
class DomainHolder:
    """One account holding a domain, with its current owner."""

    account_id: str
    owner_id: str | None


class DomainIndex:
    """Normalised domain -> accounts holding it, over a whole book of accounts."""

    def __init__(self, entries: Iterable[tuple[str, str | None, str | None]] = ()) -> None:
        """Build from ``(account_id, domain, owner_id)`` triples."""
        self._holders: dict[str, dict[str, DomainHolder]] = {}
        self._domain_of: dict[str, str] = {}
        for account_id, domain, owner_id in entries:
            self.upsert(account_id, domain, owner_id)

    def upsert(self, account_id: str, domain: str | None, owner_id: str | None) -> None:
        """Add or update one account (e.g. after an inbound change)."""
        self.remove(account_id)
        key = normalize_domain(domain)
        if key:
            self._holders.setdefault(key, {})[account_id] = DomainHolder(account_id, owner_id or None)
            self._domain_of[account_id] = key

    def remove(self, account_id: str) -> None:
        """Forget an account (deleted or merged)."""
        key = self._domain_of.pop(account_id, None)
        if key is not None:
            holders = self._holders[key]
            holders.pop(account_id, None)
            if not holders:
                del self._holders[key]

    def holders(self, domain: str | None) -> list[DomainHolder]:
        """Accounts holding ``domain`` (normalised first), sorted by account id."""
        return sorted(self._holders.get(normalize_domain(domain), {}).values(), key=lambda h: h.account_id)

    def conflicting_holders(self, account_id: str, domain: str | None, owner_id: str | None) -> list[DomainHolder]:
        """Other accounts with the same domain and a different owner (the duplicate rule)."""
        own = owner_id or None
        return [h for h in self.holders(domain) if h.account_id != account_id and h.owner_id != own]

    def related_account_ids(self, account_ids: Iterable[str]) -> set[str]:
        """``account_ids`` plus every account sharing a domain with one of them.

        Use it to widen an inbound batch: a changed domain or owner can create or resolve a
        duplicate conflict on accounts that did not change themselves.
        """
        related = set(account_ids)
        for account_id in list(related):
            key = self._domain_of.get(account_id)
            if key is not None:
                related.update(self._holders[key])
        return related
