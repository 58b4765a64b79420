"""Pure mapping helpers: website domains, the activity key marker, strict number parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from territory.connector.markers import split_marker, split_subject_marker, with_body_marker
from territory.connector.salesforce.mapping import (
    MappingProblem,
    map_account,
    parse_stamp,
    website_domain,
)

STAMP = datetime(2024, 1, 1, 12, 34, 56, tzinfo=UTC)


@pytest.mark.parametrize(("website", "domain"), [
    ("https://www.Example.de/about", "example.de"),
    ("http://example.de:8080/x?y", "example.de"),
    ("example.de", "example.de"),
    ("WWW.example.co.uk/", "example.co.uk"),
    ("  ", None),
    (None, None),
])
def test_domain_is_derived_from_website_when_it_has_scheme_www_or_path(website: str | None, domain: str | None) -> None:
    assert website_domain(website) == domain


def test_stamp_parses_salesforce_datetime_spelling() -> None:
    assert parse_stamp("2024-01-01T12:34:56.000+0000") == STAMP
    with pytest.raises(MappingProblem):
        parse_stamp("yesterday")


@pytest.mark.parametrize(("field", "value"), [
    ("NumberOfEmployees", "n/a"), ("NumberOfEmployees", 12.5), ("AnnualRevenue", "1M"),
    ("BillingLatitude", 123.0), ("Name", None),
])
def test_account_mapping_rejects_values_that_break_the_field_type(field: str, value: object) -> None:
    row = {"Id": "001000000000001AAA", "Name": "Acme", field: value}
    with pytest.raises(MappingProblem) as caught:
        map_account(row, STAMP)
    assert field in str(caught.value)


@given(st.text(max_size=300), st.text(max_size=300),
       st.from_regex(r"[A-Za-z0-9:_\-.~]{0,38}[A-Za-z0-9]", fullmatch=True))
def test_marker_round_trips_in_the_body_when_subject_and_body_are_anything(subject: str, body: str, key: str) -> None:
    marked = with_body_marker(body, key, limit=400)
    assert len(marked) <= 400
    plain_subject, text, parsed = split_marker(subject, marked)
    assert parsed == key and plain_subject == subject
    assert body.rstrip().startswith(text) or "[territory:" in body


def test_marker_is_read_from_the_subject_when_a_task_is_older() -> None:
    assert split_marker("Flag [territory:k-1]", "why") == ("Flag", "why", "k-1")
    assert split_subject_marker("Call back [later]") == ("Call back [later]", None)
    assert split_marker("Call back [later]", "") == ("Call back [later]", "", None)
