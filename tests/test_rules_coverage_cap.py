"""The optional per-account potential cap of the coverage settings."""

from __future__ import annotations

import numpy as np

from territory import rules
from territory.rules.coverage import cap_potential
from territory.rules.schema import Potential

RULES = """
version: 1
territories:
  - {id: ALL, owner: R1, match: {country: [DE]}}
coverage:
  potential: {method: annual_revenue, share_of_wallet: 0.1, cap: 500}
"""


def test_cap_clips_only_accounts_above_it_when_set() -> None:
    values = np.array([10.0, 500.0, 9000.0])
    assert cap_potential(values, Potential(cap=500)).tolist() == [10.0, 500.0, 500.0]
    assert cap_potential(values, Potential()).tolist() == [10.0, 500.0, 9000.0]


def test_evaluation_uses_capped_potential_when_rules_set_a_cap() -> None:
    config = rules.parse_rules(RULES, "cap.yaml")
    accounts = [rules.Account(id="A", owner_id="R1", country="DE", annual_revenue=1_000_000),
                rules.Account(id="B", owner_id="R1", country="DE", annual_revenue=2_000)]
    evaluation = rules.evaluate(accounts, config)
    assert evaluation.facts.potential.tolist() == [500.0, 200.0]


def test_cap_must_be_positive_when_given() -> None:
    import pytest

    with pytest.raises(rules.RulesFileError) as caught:
        rules.parse_rules(RULES.replace("cap: 500", "cap: -1"), "cap.yaml")
    assert caught.value.line == 6
