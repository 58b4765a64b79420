"""The shared pagination guard: a token seen before in one read stops it with a fatal error."""

from __future__ import annotations

import pytest

from territory.connector.errors import FatalCrmError
from territory.connector.paging import refuse_repeated_token


def test_repeated_token_is_fatal_with_next_step_when_crm_loops() -> None:
    seen: set[str] = set()
    kw = {"crm": "hubspot", "what": "companies", "code": "REPEATED_PAGING_TOKEN", "next_step": "run --full"}
    assert refuse_repeated_token(seen, "100", **kw) == "100"
    assert refuse_repeated_token(seen, "200", **kw) == "200"
    with pytest.raises(FatalCrmError) as caught:
        refuse_repeated_token(seen, "100", **kw)
    assert caught.value.code == "REPEATED_PAGING_TOKEN" and "companies" in str(caught.value)
    assert "run --full" in str(caught.value)
