"""New companies for market prospects (batch create) with marker read-back by search.

The idempotency key is written at the end of the ``description`` property. The read-back
searches companies by ``name`` (HubSpot allows five filter groups per search, so five names
per call) and parses the marker. HubSpot's search index lags behind writes by a few
seconds, so a key not found is searched again after short waits before it counts as not
created. ``industry`` is not written: HubSpot's industry is an enumeration of its own codes
that lists' free text rarely fits; the description names the listed industry instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from territory.connector.hubspot.client import HubSpotClient
from territory.connector.hubspot.writes import BATCH, HubSpotWriter
from territory.connector.markers import split_body_marker
from territory.connector.market import NewAccount, description_with_marker
from territory.connector.records import WriteResult

NAMES_PER_SEARCH = 5  # HubSpot: at most five filter groups (OR'd) per search
SETTLE_WAITS_S = (2.0, 5.0)  # search again after these waits for keys not found yet


def company_input(request: NewAccount, pos: int) -> dict[str, Any]:
    """A batch-create input (empty values left out; every value a string)."""
    values = {
        "name": request.name, "hubspot_owner_id": request.owner_id, "domain": request.domain,
        "address": request.street, "zip": request.postal_code, "city": request.city, "country": request.country,
        "phone": request.phone, "description": description_with_marker(request),
        "numberofemployees": str(int(request.employees)) if request.employees is not None else None,
        "annualrevenue": f"{request.annual_revenue:.2f}" if request.annual_revenue is not None else None,
    }
    return {"properties": {k: v for k, v in values.items() if v not in (None, "")}, "objectWriteTraceId": str(pos)}


class CompanyCreator:
    """Create companies exactly once and find the ones created before."""

    def __init__(self, client: HubSpotClient, writer: HubSpotWriter) -> None:
        self.client, self.writer = client, writer

    def create(self, requests: Sequence[NewAccount]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        indexed = list(enumerate(requests))
        for start in range(0, len(indexed), BATCH):
            results.update(self.writer.create_reconciled(
                "companies", indexed[start:start + BATCH], company_input, lambda r: (r.key, r.key), self.find))
        return [results[i] for i in range(len(requests))]

    def find(self, requests: Sequence[NewAccount]) -> dict[str, str]:
        """Key -> company id; keys not found are searched again after the settle waits."""
        found = self._search(requests)
        for wait in SETTLE_WAITS_S:
            missing = [r for r in requests if r.key not in found]
            if not missing:
                break
            self.client.sleep(wait)
            found.update(self._search(missing))
        return found

    def _search(self, requests: Sequence[NewAccount]) -> dict[str, str]:
        search = self.client.api("companies.search")
        wanted = {r.key for r in requests}
        names = sorted({r.name for r in requests})
        found: dict[str, str] = {}
        for start in range(0, len(names), NAMES_PER_SEARCH):
            groups = [{"filters": [{"propertyName": "name", "operator": "EQ", "value": n}]}
                      for n in names[start:start + NAMES_PER_SEARCH]]
            after: str | None = None
            while True:
                body: dict[str, Any] = {"filterGroups": groups, "properties": ["name", "description"], "limit": 100,
                                        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]}
                if after:
                    body["after"] = after
                data = self.client.call(lambda kw: search.do_search(body, **kw)).data or {}
                for row in data.get("results") or []:
                    _, key = split_body_marker((row.get("properties") or {}).get("description") or "")
                    if key in wanted:
                        found.setdefault(str(key), str(row["id"]))
                after = ((data.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    break
        return found
