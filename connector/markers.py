"""The ``[territory:KEY]`` marker that makes activity writes exactly-once.

Every task or note we create carries its idempotency key as a marker on the last line of its
body (not in the subject, which people read in lists). Reading activities back parses the
marker so a write that may have been applied before a crash is found instead of repeated.
Earlier versions put it at the end of the subject; those tasks are still recognised.
"""

from __future__ import annotations

import re

_BODY_MARKER = re.compile(r"\s*\[territory:([^\]\s<]+)\]")
_SUBJECT_MARKER = re.compile(r"\s*\[territory:([^\]\s<]+)\]\s*$")


def with_body_marker(body: str, key: str | None, limit: int | None = None) -> str:
    """``body`` with the marker on its own last line, trimmed to ``limit`` so it survives."""
    if not key:
        return body[:limit] if limit else body
    marker = f"\n\n[territory:{key}]"
    text = body if limit is None else body[: max(0, limit - len(marker))]
    return f"{text}{marker}"


def split_body_marker(body: str) -> tuple[str, str | None]:
    """(body without the marker, key); finds the marker anywhere (a CRM may re-flow the body
    as HTML), the last one when there are several."""
    found = list(_BODY_MARKER.finditer(body or ""))
    if not found:
        return body or "", None
    last = found[-1]
    return (body[: last.start()] + body[last.end():]).rstrip(), last.group(1)


def split_subject_marker(subject: str) -> tuple[str, str | None]:
    """(subject without a trailing marker, key): how earlier versions marked tasks."""
    found = _SUBJECT_MARKER.search(subject or "")
    if found is None:
        return subject or "", None
    return subject[: found.start()], found.group(1)


def split_marker(subject: str, body: str) -> tuple[str, str, str | None]:
    """(subject, body, key) of an activity, the marker taken from the body, else the subject."""
    text, key = split_body_marker(body)
    if key is not None:
        return subject or "", text, key
    plain, key = split_subject_marker(subject)
    return plain, body or "", key
