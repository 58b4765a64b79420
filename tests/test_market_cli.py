"""`territory market` on real files against a store synced from the emulator (both CRMs)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from territory.sync.whitespace import whitespace_report
from tests.market_support import run, synced_store

APOLLO_PEOPLE = ["First Name", "Last Name", "Title", "Company", "Email", "Mobile Phone", "# Employees", "Industry",
                 "Website", "Company Street", "Company City", "Company Postal Code", "Company Country",
                 "Annual Revenue", "Apollo Contact Id"]


@pytest.fixture(params=["hubspot", "salesforce"])
def synced(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with synced_store(request.param, tmp_path, monkeypatch, accounts=200, seed=31) as found:
        store = found["store"]
        found["accounts"] = [r for r in store.iter_records("accounts", crm=request.param) if r["domain"] and r["postal_code"]]
        yield found


def _variant(name: str) -> str:
    name = name.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
    for old, new in ((" GmbH & Co. KG", " GmbH"), (" GmbH", " GmbH & Co. KG"), (" AG", " Aktiengesellschaft")):
        if name.endswith(old):
            return name[: -len(old)] + new
    return name + " e.K."


def _people_export(path: Path, known: list[dict[str, Any]]) -> None:
    rows = []
    for i, a in enumerate(known):
        for person in range(2):  # two people per company
            rows.append([f"Jörg{person}", "Müller", "Einkauf", _variant(a["name"]), f"j{person}@{a['domain']}", "+49 170 1",
                         "50", a["industry"] or "", f"https://www.{a['domain']}/", "Hauptstraße 1", a["city"] or "",
                         a["postal_code"], a["country"] or "", "1000000", f"c{i}-{person}"])
    rows.append(["Anna", "Schön", "CEO", "Völlig Neue Pumpen GmbH", "anna@neue-pumpen-xyz.de", "", "120", "Chemicals",
                 "neue-pumpen-xyz.de", "Weg 2", "Köln", "50667", "DE", "24000000", "c-new"])
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(APOLLO_PEOPLE)
        writer.writerows(rows)


def test_apollo_people_export_folds_companies_drops_contacts_and_matches_when_imported(synced: dict[str, Any], capsys: Any) -> None:
    folder, known = synced["dir"], synced["accounts"][:20]
    _people_export(folder / "apollo.csv", known)
    code, output = run(["market", "import", str(folder / "apollo.csv"), "--source", "apollo",
                        "--out", str(folder / "matches.csv"), "--json", str(folder / "summary.json")], capsys)
    assert code == 0, output
    summary = json.loads((folder / "summary.json").read_text())
    assert list(summary)[:6] == ["prospects", "matched", "unmatched", "by_method", "ambiguous", "contacts_dropped"]
    assert summary["prospects"] == 21 and summary["contacts_dropped"] == 41
    assert summary["by_method"]["domain"] == 20 and summary["unmatched"] == 1
    lines = list(csv.reader(io.StringIO((folder / "matches.csv").read_text())))
    assert lines[0] == ["prospect_key", "prospect_name", "account_id", "score", "method"]
    domain_of = {r["id"]: r["domain"] for r in synced["accounts"]}
    matched = [row[2] for row in lines[1:] if row[2]]
    # CRM duplicates share a domain: the rules' tiebreakers may pick the twin
    assert len(matched) == 20 and {domain_of[m] for m in matched} == {a["domain"] for a in known}
    stored = synced["store"]
    from territory.sync.market import MarketStore

    assert all(p["contacts"] == [] for p in MarketStore(stored).prospects("apollo"))


def test_cp1252_semicolon_list_with_decimal_commas_matches_by_name_and_postal_when_no_domain(synced: dict[str, Any], capsys: Any) -> None:
    folder, known = synced["dir"], synced["accounts"][20:30]
    lines = ["Firma;PLZ;Ort;Land;Branche;Mitarbeiter;Umsatz"]
    lines += [f"{_variant(a['name'])};{a['postal_code']};{a['city']};{a['country']};X;1.250;12.500.000,50" for a in known]
    lines.append("Kühltechnik Süd GmbH;80331;München;DE;Chemicals;80;3.000.000,00")
    (folder / "liste.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    code, output = run(["market", "import", str(folder / "liste.csv"), "--source", "bought", "--json", "-"], capsys)
    assert code == 0, output
    summary, _ = json.JSONDecoder().raw_decode(output[output.index("{"):])
    assert summary["matched"] >= 9 and summary["unmatched"] >= 1
    from territory.sync.market import MarketStore

    rows = {p["name"]: p for p in MarketStore(synced["store"]).prospects("bought")}
    assert rows["Kühltechnik Süd GmbH"]["annual_revenue"] == 3_000_000.0
    assert all(p["employees"] == 1250 for p in rows.values() if p["account_id"])


def test_rejection_survives_reimport_and_whitespace_counts_the_prospect_when_rejected(synced: dict[str, Any], capsys: Any) -> None:
    folder, known = synced["dir"], synced["accounts"][:3]
    _people_export(folder / "apollo.csv", known)
    assert run(["market", "import", str(folder / "apollo.csv"), "--source", "apollo"], capsys)[0] == 0
    from territory.sync.market import MarketStore

    market = MarketStore(synced["store"])
    victim = next(p for p in market.prospects("apollo") if p["account_id"] and not p["alternatives"])
    code, output = run(["market", "reject", victim["key"]], capsys)
    assert code == 0, output
    assert run(["market", "import", str(folder / "apollo.csv"), "--source", "apollo"], capsys)[0] == 0
    again = {p["key"]: p for p in market.prospects("apollo")}
    assert again[victim["key"]]["account_id"] is None
    from territory import rules

    config = rules.load_rules(folder / "territory.yaml")
    report = whitespace_report(synced["store"], synced["crm"], config)
    assert sum(t.prospects for t in report.territories) == 2  # the rejected one and the new company
    assert report.untapped_potential > 0 and 0.0 <= report.too_large_share <= 1.0
    code, output = run(["market", "whitespace", "--json"], capsys)
    assert code == 0 and json.JSONDecoder().raw_decode(output[output.index("{"):])[0]["territories"]
