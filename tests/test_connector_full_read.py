"""Contract: a first read takes open opportunities only; a --full re-read takes closed ones too."""

from __future__ import annotations

import pytest

from territory.config import load_settings
from territory.connector.factory import build_connector
from territory.connector.records import ObjectKind
from territory.emulator import start_emulator


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_full_read_includes_closed_opportunities_when_first_read_does_not(crm: str) -> None:
    with start_emulator(accounts=120, seed=4) as emu:
        opp = emu.control.records("opportunities", include_deleted=False)[0]
        emu.control.update("opportunities", opp["n"], {"is_closed": True})
        closed_id = opp["sf_id"] if crm == "salesforce" else opp["hs_id"]
        env = {k.lower(): v for k, v in emu.env(crm).items() if k != "TERRITORY_EMULATOR_URL"}
        connector = build_connector(load_settings(env_file=None, **env))

        def read(full: bool) -> dict[str, bool]:
            return {r.id: r.is_closed for page in connector.iter_changes(ObjectKind.OPPORTUNITIES, None, full=full)
                    for r in page.records}

        first, full = read(False), read(True)
    assert closed_id not in first and not any(first.values())
    assert full[closed_id] is True
    assert set(first) < set(full)
