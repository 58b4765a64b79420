"""Retry policy: exact waits, Retry-After honoured, one re-auth, fatal errors not retried."""

from __future__ import annotations

import pytest

from territory.connector.errors import FatalCrmError, RetriableCrmError, SessionExpiredError
from territory.connector.retry import RetryPolicy, call_with_retry


class Flaky:
    def __init__(self, errors: list[Exception]) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_retry_after_is_honoured_and_clamped_when_server_sends_it() -> None:
    waits: list[float] = []
    flaky = Flaky([RetriableCrmError("429", retry_after=3), RetriableCrmError("429", retry_after=999)])
    policy = RetryPolicy(max_retry_after=10)
    assert call_with_retry(flaky, policy=policy, sleep=waits.append) == "ok"
    assert waits == [3.0, 10.0]
    assert flaky.calls == 3


def test_backoff_is_exponential_when_no_hint() -> None:
    waits: list[float] = []
    flaky = Flaky([RetriableCrmError("503")] * 3)
    call_with_retry(flaky, policy=RetryPolicy(base_wait=0.5), sleep=waits.append)
    assert waits == [0.5, 1.0, 2.0]


def test_gives_up_with_last_error_when_attempts_exhausted() -> None:
    flaky = Flaky([RetriableCrmError("503")] * 5)
    with pytest.raises(RetriableCrmError):
        call_with_retry(flaky, policy=RetryPolicy(max_attempts=3), sleep=lambda s: None)
    assert flaky.calls == 3


def test_fatal_error_is_not_retried_when_raised() -> None:
    flaky = Flaky([FatalCrmError("403")])
    with pytest.raises(FatalCrmError):
        call_with_retry(flaky, sleep=lambda s: None)
    assert flaky.calls == 1


def test_reauthenticates_once_when_session_expires() -> None:
    reauths: list[int] = []
    flaky = Flaky([SessionExpiredError("401")])
    assert call_with_retry(flaky, reauthenticate=lambda: reauths.append(1), sleep=lambda s: None) == "ok"
    assert reauths == [1]


def test_second_expiry_is_fatal_when_reauth_did_not_help() -> None:
    flaky = Flaky([SessionExpiredError("401"), SessionExpiredError("401")])
    with pytest.raises(FatalCrmError, match="re-authentication did not help"):
        call_with_retry(flaky, reauthenticate=lambda: None, sleep=lambda s: None)
