"""Pagination guard shared by both connectors: a repeated paging token is an error, not a loop."""

from __future__ import annotations

from territory.connector.errors import FatalCrmError


def refuse_repeated_token(
    seen: set[str], token: str, *, crm: str, what: str, code: str, next_step: str
) -> str:
    """Remember ``token`` for this read and return it; raise if the CRM sent it before.

    Args:
        seen: The tokens of this read so far (updated in place).
        token: The next-page token (HubSpot ``after``, Salesforce ``nextRecordsUrl``).
        crm: ``salesforce`` or ``hubspot``.
        what: What is being read, for the message.
        code: Our error code for this CRM's kind of token.
        next_step: What the user should do.
    """
    if token in seen:
        raise FatalCrmError(
            f"the CRM returned the paging token {token!r} twice while reading {what}",
            crm=crm, code=code, next_step=next_step,
        )
    seen.add(token)
    return token
