"""The vendors' Node clients against the emulator: jsforce 3.x and @hubspot/api-client.

The emulator is defined by the vendors' APIs, not by our connector, so clients we do not use
must work too. The probes (``tests/node/*.js``) run a few reads and writes and print JSON that
is checked here against the Python clients' view of the same data. jsforce's OAuth2 password
login posts its form as a chunked body (no Content-Length), so the Salesforce probe also covers
chunked bodies from a real client.

Node modules come from the project's own lock file: ``npm ci --prefix tests/node`` (``.ci/run``
does it when npm exists); without Node or the modules the tests skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hubspot import HubSpot
from simple_salesforce import Salesforce

from territory.emulator import RunningEmulator, start_emulator
from tests.emulator_support import salesforce_client

NODE_DIR = Path(__file__).parent / "node"
NODE = shutil.which("node")
MODULES = [NODE_DIR / "node_modules" / "jsforce", NODE_DIR / "node_modules" / "@hubspot" / "api-client"]
TOKEN = "node-token"

pytestmark = pytest.mark.skipif(
    NODE is None or not all(m.is_dir() for m in MODULES),
    reason="Node/npm or tests/node/node_modules absent: run npm ci --prefix tests/node",
)


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_emulator(accounts=25, seed=9, token=TOKEN, provision_users=True) as running:
        yield running


def run_probe(emu: RunningEmulator, script: str) -> dict[str, Any]:
    env = {**os.environ, "SF_URL": emu.https_url, "NODE_EXTRA_CA_CERTS": str(emu.ca_file),
           "HS_URL": emu.http_url, "HS_TOKEN": TOKEN}
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(proxy, None)
    done = subprocess.run([str(NODE), str(NODE_DIR / script)], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, f"{script} failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def salesforce(emu: RunningEmulator) -> Salesforce:
    return salesforce_client(emu, TOKEN)


def test_jsforce_logs_in_describes_finds_with_owner_fields_queries_and_updates_when_run_against_the_emulator(
    emu: RunningEmulator,
) -> None:
    out = run_probe(emu, "salesforce_probe.js")
    integration = next(u for u in emu.control.users() if u["role"] == "integration")
    assert out["loginUserId"] == out["identityUserId"] == integration["sf_id"]
    assert "59.0" in out["versions"]
    assert out["ownerField"] == {"type": "reference", "referenceTo": ["User"], "relationshipName": "Owner"}
    sf = salesforce(emu)
    ids = [r["Id"] for r in out["found"]]
    listed = ", ".join(f"'{i}'" for i in ids)
    owners = {r["Id"]: (r["Owner"]["Name"], r["Owner"]["Email"]) for r in sf.query(
        f"SELECT Id, Owner.Name, Owner.Email FROM Account WHERE Id IN ({listed})")["records"]}
    assert len(ids) == 3 and all(owners[r["Id"]] == (r["OwnerName"], r["OwnerEmail"]) for r in out["found"])
    assert out["queryTotal"] == 5
    assert out["updated"] == {"id": out["queryIds"][0], "success": True} and out["industryAfter"] == "Retail"
    after = sf.Account.get(out["queryIds"][0])
    assert (after["Industry"], after["LastModifiedById"]) == ("Retail", integration["sf_id"])


def test_hubspot_node_client_pages_reads_batch_updates_and_lists_properties_when_run_against_the_emulator(
    emu: RunningEmulator,
) -> None:
    out = run_probe(emu, "hubspot_probe.js")
    hs = HubSpot(access_token=TOKEN, host=emu.http_url)
    page = hs.crm.companies.basic_api.get_page(limit=5)
    assert out["pageIds"] == [c.id for c in page.results] and out["hasNext"] is True
    assert out["one"]["id"] == out["pageIds"][0] and out["one"]["historyKeys"] == ["industry"]
    assert out["batchStatus"] == "COMPLETE" and out["batchIds"] == sorted(out["pageIds"][:2])
    assert all(r["industry"] == "Retail" and r["latestSource"] == "INTEGRATION" for r in out["reread"])
    assert {"name", "domain", "hubspot_owner_id", "industry"} <= set(out["propertyNames"])
    owners = {o.id: o.user_id for o in hs.crm.owners.owners_api.get_page(limit=10).results}
    assert {o["id"]: o["userId"] for o in out["owners"]} == owners
