"""``territory sandbox ui-edit`` and ``sandbox decide``: play a person in the emulated CRM's UI.

``ui-edit`` saves fields by the CRM's own names as a named user (what a list-view inline edit or
a record page does); ``decide`` is the manager's approve/reject on one proposal, found in the
store by account name or id, with the object and field the installed CRM uses; ``approvers``
prints who may decide in the emulated org, as the rules file's ``approvers`` section.
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
    account: str | None = typer.Argument(
        None, help="Account name or CRM id of the proposal to decide (default: the first one `territory "
        "approvals` lists that names an approver)."),
    as_user: str | None = typer.Option(
        None, "--as", help="The manager deciding: name, email or CRM user/owner id (default: the approver "
        "the proposal asks)."),
    reject: bool = typer.Option(False, "--reject", help="Reject instead of approve."),
    url: str | None = _URL_OPTION, env_file: Path = _ENV_OPTION, as_json: bool = _JSON_OPTION,
) -> None:
    """Approve (or --reject) an open proposal in the emulated CRM as a manager would there."""
    from territory.cli.errors import InputError
    from territory.cli.shared import open_configured_store
    from territory.config import load_settings
    from territory.connector.factory import build_connector

    settings = load_settings()
    crm = settings.require_crm()
    store = open_configured_store(settings.territory_db_url)
    try:
        row = _open_proposal(store, crm, account)
        names = {o["id"]: o["name"] for o in store.iter_records("owners", crm=crm)}
    finally:
        store.close()
    who = as_user or row.approver_id
    if not who:
        raise InputError(f"the proposal for {row.account_name or row.account_id} names no approver (the CRM has no "
                         "manager for either rep and territory.yaml lists none): pass --as, or add approvers "
                         "(`territory sandbox approvers >> territory.yaml`) before `territory propose`.")
    edit = build_connector(settings).status_edit(row.crm_record_id, "Rejected" if reject else "Approved")
    answer = _call(_control_base(url, env_file), "POST", f"/ui/{crm}/{edit.object}/{edit.record_id}",
                   {"as": who, "set": edit.fields})
    if not as_json:
        typer.echo(f"{'rejected' if reject else 'approved'} the proposal for {row.account_name or row.account_id} "
                   f"[{row.account_id}] as {names.get(who, who)}")
    _show(answer, as_json)


def _open_proposal(store: Any, crm: str, account: str | None) -> Any:
    """The open, published proposal to decide; an account name several accounts share is an error."""
    from territory.cli.errors import InputError
    from territory.sync.proposals import list_proposals
    from territory.sync.tables import OPEN_PROPOSAL_STATES

    rows = [r for r in list_proposals(store, crm, states=OPEN_PROPOSAL_STATES) if r.crm_record_id]
    if account is None:
        asked = [r for r in rows if r.approver_id]
        if not asked:
            raise InputError("no open published proposal names an approver: `territory approvals` lists them")
        return asked[0]
    wanted = account.strip()
    found = [r for r in rows if r.account_id == wanted] or [
        r for r in rows if (r.account_name or "").lower() == wanted.lower()]
    if not found:
        raise InputError(f"no open published proposal for account {account!r}: `territory approvals` lists them")
    ids = sorted({r.account_id for r in found})
    if len(ids) > 1:
        raise InputError(f"{len(ids)} accounts named {account!r} have open proposals ({', '.join(ids)}): "
                         "pass the account id instead of the name")
    return found[-1]


@sandbox_app.command("approvers")
def approvers(
    crm: str | None = typer.Option(None, "--crm", help="salesforce or hubspot (default: TERRITORY_CRM)."),
    url: str | None = _URL_OPTION, env_file: Path = _ENV_OPTION,
) -> None:
    """Print the rules file's `approvers` section for the emulated org (who may decide proposals):
    append it with `territory sandbox approvers >> territory.yaml`. HubSpot has no manager field,
    so without it nobody there may approve a move."""
    from territory.cli.shared import approvers_yaml
    from territory.config import load_settings

    chosen = crm or load_settings().territory_crm or "salesforce"
    owners = _call(_control_base(url, env_file), "GET", "/records/owners")
    typer.echo(approvers_yaml(owners, chosen), nl=False)


def _show(answer: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
    else:
        typer.echo(f"saved {', '.join(answer.get('changed') or [])} on {answer.get('object')} {answer.get('id')}")


def register(app: typer.Typer) -> None:
    """Nothing to attach to ``app``: importing this module adds its commands to ``sandbox``."""
