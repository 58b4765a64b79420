"""Retry policy shared by both connectors (tenacity underneath).

Only :class:`~connector.errors.RetriableCrmError` is retried. The wait honours the server's
``Retry-After`` hint clamped to ``[min_wait, max_retry_after]``; otherwise it backs off
exponentially. A :class:`~connector.errors.SessionExpiredError` triggers exactly one
re-authentication before the call is retried; a second one in the same call is fatal.
Sleep is injected so tests assert exact waits without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from territory.connector.errors import FatalCrmError, RetriableCrmError, SessionExpiredError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a retriable CRM call."""

    max_attempts: int = 8
    min_wait: float = 0.05
    base_wait: float = 0.5
    max_wait: float = 30.0
    max_retry_after: float = 60.0

    def wait_for(self, attempt: int, error: BaseException | None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` after ``error``."""
        hint = getattr(error, "retry_after", None)
        if hint is not None:
            return max(self.min_wait, min(float(hint), self.max_retry_after))
        return max(self.min_wait, min(self.base_wait * 2 ** (attempt - 1), self.max_wait))


DEFAULT_POLICY = RetryPolicy()


def call_with_retry(
    call: Callable[[], T],
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    reauthenticate: Callable[[], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> T:
    """Run ``call``, retrying retriable CRM errors per ``policy``.

    Args:
        call: the operation; must raise only our taxonomy (translate client errors first).
        policy: attempts and waits.
        reauthenticate: called once on the first SessionExpiredError; without it, an
            expired session is fatal.
        sleep: injected for tests.
        on_retry: observer (error, wait seconds), e.g. for progress output.
    """
    reauthenticated = False

    def _before_sleep(state: RetryCallState) -> None:
        nonlocal reauthenticated
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, SessionExpiredError):
            if reauthenticated or reauthenticate is None:
                raise FatalCrmError(
                    "the CRM session expired and re-authentication did not help",
                    crm=error.crm,
                    status=error.status,
                    code=error.code,
                    next_step="refresh the access token or credentials in your settings",
                ) from error
            reauthenticate()
            reauthenticated = True
        if on_retry is not None and error is not None:
            on_retry(error, policy.wait_for(state.attempt_number, error))

    def _wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, SessionExpiredError):
            return 0.0
        return policy.wait_for(state.attempt_number, error)

    retrying = Retrying(
        retry=retry_if_exception_type(RetriableCrmError),
        stop=stop_after_attempt(policy.max_attempts),
        wait=_wait,
        sleep=sleep,
        before_sleep=_before_sleep,
        reraise=True,
    )
    return retrying(call)
