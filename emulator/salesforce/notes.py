"""Salesforce notes: ``ContentNote`` over the emulator's notes, linked by ``ContentDocumentLink``.

A ContentNote is the same record HubSpot serves as a note (``Title`` is its subject, the
decoded ``Content`` its body). ``Content`` is written base64-encoded, as the REST API wants
it, and read as the URL of its blob (``GET /sobjects/ContentNote/{id}/Content`` answers the
HTML). A ``ContentDocumentLink`` to an Account makes that account the note's company (HubSpot
shows the note associated with it); a link to another record is kept as the note's
``what``.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from territory.emulator.salesforce_objects import (
    FieldProblem,
    SObjectDef,
    Writer,
    owner_reference,
    stamp_getters,
    text_writer,
)
from territory.emulator.server import Request, Response
from territory.emulator.state import CrmState, EmuActivity, parse_sf_id, sf_id

_TAGS = re.compile(r"<[^>]+>")


def _content_url(rec: Any) -> str:
    return f"/services/data/v59.0/sobjects/ContentNote/{sf_id('note', rec.n)}/Content"


def _preview(rec: Any) -> str:
    return " ".join(_TAGS.sub(" ", rec.body or "").split())[:255]


def _content(value: Any) -> dict[str, Any]:
    if value is None:
        return {"body": ""}
    try:
        return {"body": base64.b64decode(str(value), validate=True).decode("utf-8")}
    except (binascii.Error, UnicodeDecodeError):
        raise FieldProblem("JSON_PARSER_ERROR", "Content must be base64-encoded UTF-8 text") from None


def content_note(state: CrmState) -> SObjectDef:
    getters = stamp_getters({
        "Id": lambda r: sf_id("note", r.n),
        "Title": lambda r: r.subject,
        "Content": _content_url,
        "TextPreview": _preview,
        "FileType": lambda r: "SNOTE",
        "OwnerId": lambda r: sf_id("owner", r.owner_n) if r.owner_n is not None else None,
    })
    writers: dict[str, Writer] = {
        "Title": text_writer("subject", required=True), "Content": _content,
        "OwnerId": owner_reference(state),
    }
    return SObjectDef(
        "ContentNote", "note", getters, writers, required=("Title",), include=lambda r: r.kind == "note",
        factory=lambda n: EmuActivity(n=n, kind="note", account_n=None, owner_n=None, subject="", body=""),
        relations={"Owner": ("User", "owner_n")},
    )


def link_note(state: CrmState, link: Any) -> None:
    """Attach the linked note to the record a new ``ContentDocumentLink`` names."""
    note = state.activities.get(link.values.get("ContentDocumentId"))
    target = link.values.get("LinkedEntityId")
    if note is None or note.kind != "note" or target is None:
        return
    if target in state.accounts:
        note.account_n = target
    elif target not in state.owners:
        kind = next((k for k, table in state.store.tables.items() if target in table and k != "note"), None)
        if kind is not None:
            note.extra = {**note.extra, "what": (kind, target)}


def content_blob(state: CrmState, req: Request) -> Response:
    """``GET /sobjects/ContentNote/{id}/Content``: the note's HTML."""
    parsed = parse_sf_id(req.match["id"]) if req.match else None  # type: ignore[index]
    note = state.activities.get(parsed[1]) if parsed and parsed[0] == "note" else None
    if note is None or note.kind != "note" or note.deleted:
        return Response(404, [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])
    return Response(200, note.body or "", content_type="text/html;charset=UTF-8")
