"""New Accounts for market prospects (sObject Collections POST) with marker read-back.

The idempotency key is written at the end of ``Description``. Long text areas cannot be
filtered in SOQL, so the read-back queries Accounts by ``Name`` and parses the marker from
each Description; SOQL reads are consistent, so a create that happened is always found.
``Industry`` is not written: lists name industries in their own words (LinkedIn's, NACE),
which would fill the org's picklist with free text or fail where it is restricted; the
description names the listed industry instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from simple_salesforce import format_soql

from territory.connector.markers import split_body_marker
from territory.connector.market import NewAccount, description_with_marker
from territory.connector.records import WriteResult
from territory.connector.salesforce.writer import Call, _collection, _result, chunks

NAMES_PER_QUERY = 30  # keeps the GET query URL well below the REST URI limit (16 KB)


def account_body(request: NewAccount) -> dict[str, Any]:
    """The Account record for a collections POST (empty values left out)."""
    values: dict[str, Any] = {
        "Name": request.name[:255], "OwnerId": request.owner_id, "Website": request.domain,
        "BillingStreet": request.street, "BillingPostalCode": request.postal_code, "BillingCity": request.city,
        "BillingCountry": request.country, "Phone": request.phone,
        "NumberOfEmployees": int(request.employees) if request.employees is not None else None,
        "AnnualRevenue": request.annual_revenue, "Description": description_with_marker(request),
    }
    return {"attributes": {"type": "Account"}, **{k: v for k, v in values.items() if v not in (None, "")}}


def find_created(call: Call, requests: Sequence[NewAccount]) -> dict[str, str]:
    """Key -> Account id for requests whose Account exists (the oldest one carrying the key)."""
    wanted = {r.key for r in requests}
    names = sorted({r.name[:255] for r in requests})
    found: dict[str, str] = {}
    for start in range(0, len(names), NAMES_PER_QUERY):
        soql = format_soql("SELECT Id, Description FROM Account WHERE Name IN {} ORDER BY CreatedDate, Id",
                           names[start:start + NAMES_PER_QUERY])
        page = call(lambda sf: sf.query(soql), "read Accounts by name")
        while True:
            for row in page.get("records", []):
                _, key = split_body_marker(row.get("Description") or "")
                if key in wanted:
                    found.setdefault(str(key), row["Id"])
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                break
            url = page["nextRecordsUrl"]
            page = call(lambda sf: sf.query_more(url, identifier_is_url=True), "read Accounts by name")
    return found


def create_accounts(call: Call, call_once: Call, retry: Callable[[Callable[[], Any]], Any],
                    requests: Sequence[NewAccount]) -> list[WriteResult]:
    """Create Accounts, 200 per call; each retry first reuses Accounts already carrying their key.

    ``call_once`` sends without retrying (a blind retry of a POST could create a second
    Account); ``retry`` re-runs the whole reconcile-then-create unit.
    """
    results: list[WriteResult] = []
    for chunk in chunks(list(requests)):
        attempts = 0

        def create_chunk(chunk: Sequence[NewAccount] = chunk) -> list[WriteResult]:
            nonlocal attempts
            attempts += 1
            existing = find_created(call, chunk) if attempts > 1 else {}
            todo = [r for r in chunk if r.key not in existing]
            created = iter(_collection(call_once, "POST", [account_body(r) for r in todo], "create Accounts") if todo else [])
            return [WriteResult(r.key, True, created_id=existing[r.key]) if r.key in existing
                    else _result(r.key, next(created, {}), created=True) for r in chunk]

        results.extend(retry(create_chunk))
    return results
