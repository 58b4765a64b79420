"""``territory sandbox ui-edit`` and ``sandbox decide``: play a person in the emulated CRM's UI.

``ui-edit`` saves fields by the CRM's own names as a named user (what a list-view inline edit or
a record page does); ``decide`` is the manager's approve/reject on one proposal, found in the
store by account name or id, with the object and field the installed CRM uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from territory.cli.sandbox_cmd import (
    _ENV_OPTION,
    _JSON_OPTION,
    _URL_OPTION,
    _call,
    _control_base,
    sandbox_app,
)


@sandbox_app.command("ui-edit")
def ui_edit(
    obj: str = typer.Argument(..., help="The CRM's object name: Account, Territory_Reassignment__c, companies..."),
    record_id: str = typer.Argument(..., help="The record's CRM id."),
    assignments: list[str] = typer.Argument(..., help="FIELD=VALUE pairs (CRM field names; FIELD= clears)."),
    as_user: str = typer.Option(..., "--as", help="Who edits: email, Salesforce user id or HubSpot owner id."),
    crm: str = typer.Option("salesforce", "--crm", help="salesforce or hubspot."),
    url: str | None = _URL_OPTION, env_file: Path = _ENV_OPTION, as_json: bool = _JSON_OPTION,
) -> None:
    """Edit a record as a person would in the CRM's UI (history names that person)."""
    fields: dict[str, Any] = {}
    for pair in assignments:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{pair!r} is not FIELD=VALUE")
        fields[name] = value or None
    _show(_call(_control_base(url, env_file), "POST", f"/ui/{crm}/{obj}/{record_id}", {"as": as_user, "set": fields}),
          as_json)


@sandbox_app.command("decide")
def decide(
    account: str = typer.Argument(..., help="Account name or CRM id of the proposal to decide."),
    as_user: str = typer.Option(..., "--as", help="The manager deciding: email or CRM user/owner id."),
    reject: bool = typer.Option(False, "--reject", help="Reject instead of approve."),
    url: str | None = _URL_OPTION, env_file: Path = _ENV_OPTION, as_json: bool = _JSON_OPTION,
) -> None:
    """Approve (or --reject) an open proposal in the emulated CRM as a manager would there."""
    from territory.cli.errors import InputError
    from territory.cli.shared import open_configured_store
    from territory.config import load_settings
    from territory.connector.factory import build_connector
    from territory.sync.proposals import find_open_proposal

    settings = load_settings()
    crm = settings.require_crm()
    store = open_configured_store(settings.territory_db_url)
    try:
        row = find_open_proposal(store, crm, account)
    finally:
        store.close()
    if row is None or not row.crm_record_id:
        raise InputError(f"no open published proposal for account {account!r}: `territory approvals` lists them")
    edit = build_connector(settings).status_edit(row.crm_record_id, "Rejected" if reject else "Approved")
    answer = _call(_control_base(url, env_file), "POST", f"/ui/{crm}/{edit.object}/{edit.record_id}",
                   {"as": as_user, "set": edit.fields})
    _show(answer, as_json)


def _show(answer: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
    else:
        typer.echo(f"saved {', '.join(answer.get('changed') or [])} on {answer.get('object')} {answer.get('id')}")


def register(app: typer.Typer) -> None:
    """Nothing to attach to ``app``: importing this module adds its commands to ``sandbox``."""
