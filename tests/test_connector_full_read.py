"""Contract: a first read takes open opportunities and those closed in the last four quarters;
a --full re-read takes every closed one too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from territory.config import load_settings
from territory.connector.factory import build_connector
from territory.connector.records import ObjectKind, closed_history_start
from territory.emulator import start_emulator


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_full_read_includes_old_closed_opportunities_when_first_read_does_not(crm: str) -> None:
    long_ago = closed_history_start(datetime.now(UTC).date()) - timedelta(days=1)
    with start_emulator(accounts=120, seed=4) as emu:
        opp, recent = emu.control.records("opportunities", include_deleted=False)[:2]
        emu.control.update("opportunities", opp["n"], {"is_closed": True, "close_date": long_ago.isoformat()})
        emu.control.update("opportunities", recent["n"], {"is_closed": True, "stage": "Closed Won",
                                                          "close_date": (long_ago + timedelta(days=1)).isoformat()})
        closed_id = opp["sf_id"] if crm == "salesforce" else opp["hs_id"]
        recent_id = recent["sf_id"] if crm == "salesforce" else recent["hs_id"]
        env = {k.lower(): v for k, v in emu.env(crm).items() if k != "TERRITORY_EMULATOR_URL"}
        connector = build_connector(load_settings(env_file=None, **env))

        def read(full: bool) -> dict[str, bool]:
            return {r.id: r.is_closed for page in connector.iter_changes(ObjectKind.OPPORTUNITIES, None, full=full)
                    for r in page.records}

        first, full = read(False), read(True)
    assert closed_id not in first and first[recent_id] is True
    assert sum(first.values()) == 1
    assert full[closed_id] is True
    assert set(first) < set(full)
