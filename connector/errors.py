"""Our error taxonomy for CRM access, grouped by what the caller should do.

::

    CrmError                      base; never carries a secret in its message
    ├── RetriableCrmError         retry with backoff (429, 5xx, timeouts, dropped connections,
    │   │                         UNABLE_TO_LOCK_ROW); ``retry_after`` honours the server's hint
    │   └── SessionExpiredError   401 / INVALID_SESSION_ID: re-authenticate once, then retry
    ├── FatalCrmError             stop the run (403 permissions/scopes, 400 malformed request,
    │                             daily limit exhausted, authentication failed)
    └── SkippableRecordError      one bad record: report it and go on with the rest

Each connector has exactly one function that turns its client's exceptions into these;
nothing outside ``connector/`` ever sees a client exception.
"""

from __future__ import annotations


class CrmError(Exception):
    """Base of every CRM error. ``next_step`` tells a person what to do."""

    def __init__(
        self,
        message: str,
        *,
        crm: str = "",
        status: int | None = None,
        code: str | None = None,
        next_step: str | None = None,
        record_id: str | None = None,
    ) -> None:
        self.crm = crm
        self.status = status
        self.code = code
        self.next_step = next_step
        self.record_id = record_id
        super().__init__(message)

    def __str__(self) -> str:
        text = super().__str__()
        parts = [p for p in (self.crm, str(self.status) if self.status else None, self.code) if p]
        prefix = f"[{' '.join(parts)}] " if parts else ""
        suffix = f" Next step: {self.next_step}" if self.next_step else ""
        return f"{prefix}{text}{suffix}"


class RetriableCrmError(CrmError):
    """Transient: the same call may succeed later."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class SessionExpiredError(RetriableCrmError):
    """The session/token expired: re-authenticate once, then retry."""


class FatalCrmError(CrmError):
    """Retrying will not help: permissions, malformed request, exhausted daily limit."""


class SkippableRecordError(CrmError):
    """One record is bad; the rest of the batch can go on."""
