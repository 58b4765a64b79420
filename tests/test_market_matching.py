"""Market matching (pure): normalisation, stages, duplicates, and the planted evaluation set."""

from __future__ import annotations

import pytest

from territory.emulator.prospects import planted_market
from territory.rules.market.matching import Party, match_prospects, summarize
from territory.rules.market.normalize import (
    normalize_company_name,
    normalize_postal,
    registrable_domain,
)


@pytest.mark.parametrize("variant", [
    "Müller Maschinenbau GmbH & Co. KG", "Mueller Maschinenbau GmbH", "MULLER MASCHINENBAU",
    "Müller Maschinenbau Gesellschaft mit beschränkter Haftung", "Müller Maschinenbau UG (haftungsbeschränkt)",
    "Müller Maschinenbau e.K.", "Müller Maschinenbau AG", "Müller Maschinenbau SE", "Müller Maschinenbau Ltd.",
    "Müller Maschinenbau Inc", "Müller Maschinenbau S.A.", "Müller-Maschinenbau KG",
])
def test_legal_forms_umlauts_and_case_normalise_to_one_name_when_written_differently(variant: str) -> None:
    assert normalize_company_name(variant) == "muller maschinenbau"


def test_domains_lose_scheme_www_path_and_subdomain_but_keep_private_suffixes_when_normalised() -> None:
    assert registrable_domain("https://www.Shop.Acme.co.uk/de/kontakt?x=1") == "acme.co.uk"
    assert registrable_domain("acme.wixsite.com") == "acme.wixsite.com"
    assert registrable_domain("info@gmx.de") == ""
    assert normalize_postal("D-80331") == "80331"


def _party(key: str, name: str, domain: str | None = None, postal: str | None = "80331", city: str = "München",
           preference: tuple[float, ...] = ()) -> Party:
    return Party(key, name, domain, postal, city, "DE", preference)


def test_stages_give_domain_then_name_postal_then_fuzzy_when_evidence_weakens() -> None:
    accounts = [_party("A1", "Axentis GmbH", "axentis.de"), _party("A2", "Nordlicht Logistik AG", None, "80335"),
                _party("A3", "Falken Werkzeugbau GmbH", None, "80999")]
    prospects = [_party("p1", "Axentis Holding", "https://www.axentis.de/impressum"),
                 _party("p2", "Nordlicht Logistik GmbH", None, "80335"),
                 _party("p3", "Falken Werkzuegbau", None, "80331"),
                 _party("p4", "Stern Werkzeugbau", None, "80331")]
    found = {m.prospect_key: m for m in match_prospects(prospects, accounts)}
    assert [(found[k].account_id, found[k].method) for k in ("p1", "p2", "p3", "p4")] == [
        ("A1", "domain"), ("A2", "name_postal"), ("A3", "fuzzy"), (None, "none")]
    assert found["p2"].score > found["p3"].score > 0


def test_crm_duplicates_sharing_a_domain_pick_by_preference_and_are_reported_when_ambiguous() -> None:
    accounts = [_party("A1", "Axentis GmbH", "axentis.de", preference=(1.0,)),
                _party("A2", "Axentis GmbH", "axentis.de", preference=(0.0,))]
    [match] = match_prospects([_party("p", "Axentis", "axentis.de")], accounts)
    assert (match.account_id, match.alternatives) == ("A2", ("A1",))
    assert summarize([match])["ambiguous"] == 1


def test_rejected_pair_is_never_proposed_again_when_matching_anew() -> None:
    accounts = [_party("A1", "Axentis GmbH", "axentis.de")]
    [match] = match_prospects([_party("p", "Axentis", "axentis.de")], accounts, rejected=[("p", "A1")])
    assert match.account_id is None and match.method == "none"


def _quality(seed: int, size: int) -> tuple[float, float]:
    market = planted_market(size, size, seed=seed)
    accounts = [Party(str(a["id"]), str(a["name"]), a["domain"], a["postal_code"], a["city"], a["country"]) for a in market.accounts]  # type: ignore[arg-type]
    prospects = [Party(str(p["id"]), str(p["name"]), p["domain"], p["postal_code"], p["city"], p["country"]) for p in market.prospects]  # type: ignore[arg-type]
    results = match_prospects(prospects, accounts)
    tp = sum(1 for r in results if r.account_id and r.account_id in market.truth[r.prospect_key])
    fp = sum(1 for r in results if r.account_id and r.account_id not in market.truth[r.prospect_key])
    fn = sum(1 for r in results if not r.account_id and market.truth[r.prospect_key])
    return tp / (tp + fp), tp / (tp + fn)


def test_planted_set_reaches_precision_and_recall_when_seed_was_not_tuned_on() -> None:
    # Tuned on seed 1 (5,000 x 5,000); checked here on seed 20260 at 8,000 x 8,000.
    precision, recall = _quality(seed=20260, size=8000)
    assert precision >= 0.98 and recall >= 0.95, (precision, recall)
