"""HubSpot associations stored as links between records, and the v4 association routes.

A link joins two records in both directions with a set of association type ids per direction
(``HUBSPOT_DEFINED`` ids; 279/280 contact↔company, 341/342 deal↔company, 189/190 note↔company,
191/192 task↔company, ...). A record's primary company (``account_n``, the company a deal,
contact, task or note was seeded or created with, which Salesforce shows as ``AccountId`` /
``WhatId``) is a link too: associating a record that has no company yet makes that company its
primary one, removing the primary link clears it.

Routes: ``PUT /crm/v4/objects/{from}/{id}/associations/default/{to}/{toId}`` (200),
``PUT …/associations/{to}/{toId}`` with ``[{associationCategory, associationTypeId}]`` (201),
``DELETE …/associations/{to}/{toId}`` (204), ``GET …/associations/{to}``,
``POST /crm/v4/associations/{from}/{to}/batch/{create,associate/default,read,archive}`` and
``GET /crm/v4/associations/{from}/{to}/labels``.
"""

from __future__ import annotations

from typing import Any

from territory.emulator.state import CrmState

# (from, to) -> the unlabeled HUBSPOT_DEFINED type id
TYPE_IDS = {
    ("contacts", "companies"): 279, ("companies", "contacts"): 280,
    ("deals", "companies"): 341, ("companies", "deals"): 342,
    ("notes", "companies"): 190, ("companies", "notes"): 189,
    ("tasks", "companies"): 192, ("companies", "tasks"): 191,
    ("deals", "contacts"): 3, ("contacts", "deals"): 4,
    ("notes", "contacts"): 202, ("contacts", "notes"): 201,
    ("tasks", "contacts"): 204, ("contacts", "tasks"): 203,
    ("notes", "deals"): 214, ("deals", "notes"): 213,
    ("tasks", "deals"): 216, ("deals", "tasks"): 215,
}
# (from, to) -> the "Primary" labelled type id
PRIMARY_IDS = {("contacts", "companies"): 1, ("companies", "contacts"): 2,
               ("deals", "companies"): 5, ("companies", "deals"): 6}
_COMPANY_OWNED = ("contacts", "deals", "notes", "tasks")  # types whose records carry account_n

Key = tuple[str, int]


class AssociationError(ValueError):
    """An association HubSpot would refuse (unknown type id for the pair)."""


def allowed_type_ids(from_type: str, to_type: str) -> set[int]:
    ids = {TYPE_IDS[(from_type, to_type)]} if (from_type, to_type) in TYPE_IDS else set()
    if (from_type, to_type) in PRIMARY_IDS:
        ids.add(PRIMARY_IDS[(from_type, to_type)])
    return ids


def target_type(from_type: str, type_ids: set[int]) -> str | None:
    """The object type that association type ids from ``from_type`` point at (None if unknown
    or mixed)."""
    targets = {to for (source, to) in {**TYPE_IDS, **PRIMARY_IDS} if source == from_type
               and type_ids & allowed_type_ids(from_type, to)}
    return targets.pop() if len(targets) == 1 and type_ids else None


def _inverse(from_type: str, to_type: str, type_ids: set[int]) -> set[int]:
    out = set()
    for type_id in type_ids:
        if type_id == TYPE_IDS.get((from_type, to_type)):
            out.add(TYPE_IDS[(to_type, from_type)])
        elif type_id == PRIMARY_IDS.get((from_type, to_type)):
            out.add(PRIMARY_IDS[(to_type, from_type)])
    return out


def _table(state: CrmState) -> dict[Key, dict[Key, set[int]]]:
    return state.store.links


def _primary_company(record: Any) -> int | None:
    return getattr(record, "account_n", None)


def link(state: CrmState, from_type: str, record: Any, to_type: str, target: Any, type_ids: set[int] | None = None) -> set[int]:
    """Associate two records (both directions); None ``type_ids`` means the default type."""
    allowed = allowed_type_ids(from_type, to_type)
    wanted = set(type_ids) if type_ids is not None else {TYPE_IDS.get((from_type, to_type), 0)}
    if not allowed or not wanted <= allowed:
        raise AssociationError(f"association types {sorted(wanted)} are not valid from {from_type} to {to_type}")
    links = _table(state)
    mine = links.setdefault((from_type, record.n), {}).setdefault((to_type, target.n), set())
    mine |= wanted
    links.setdefault((to_type, target.n), {}).setdefault((from_type, record.n), set()).update(
        _inverse(from_type, to_type, wanted))
    child, company = (record, target) if to_type == "companies" else (target, record)
    if "companies" in (from_type, to_type) and {from_type, to_type} & set(_COMPANY_OWNED) \
            and _primary_company(child) is None:
        child.account_n = company.n
    return mine


def unlink(state: CrmState, from_type: str, record: Any, to_type: str, target: Any) -> None:
    """Remove every association between the two records (the primary company too)."""
    links = _table(state)
    links.get((from_type, record.n), {}).pop((to_type, target.n), None)
    links.get((to_type, target.n), {}).pop((from_type, record.n), None)
    child, company = (record, target) if to_type == "companies" else (target, record)
    if "companies" in (from_type, to_type) and _primary_company(child) == company.n:
        child.account_n = None


def linked(state: CrmState, from_type: str, record: Any, to_type: str, rows: dict[int, Any]) -> dict[int, set[int]]:
    """Live ``to_type`` records associated with ``record``: id -> type ids (primary included)."""
    out: dict[int, set[int]] = {}
    for (other_type, n), type_ids in _table(state).get((from_type, record.n), {}).items():
        if other_type == to_type:
            out[n] = set(type_ids)
    if to_type == "companies" and from_type in _COMPANY_OWNED and _primary_company(record) is not None:
        out.setdefault(record.account_n, set()).update(_primary_set(from_type, to_type))
    if from_type == "companies" and to_type in _COMPANY_OWNED:
        for n, child in rows.items():
            if getattr(child, "account_n", None) == record.n:
                out.setdefault(n, set()).update(_primary_set(from_type, to_type))
    return {n: ids for n, ids in sorted(out.items()) if n in rows and not rows[n].deleted}


def _primary_set(from_type: str, to_type: str) -> set[int]:
    ids = {TYPE_IDS[(from_type, to_type)]}
    if (from_type, to_type) in PRIMARY_IDS:
        ids.add(PRIMARY_IDS[(from_type, to_type)])
    return ids


def association_types(from_type: str, to_type: str, type_ids: set[int]) -> list[dict[str, Any]]:
    """``[{category, typeId, label}]`` as v4 reads answer: unlabeled first, then "Primary"."""
    primary = PRIMARY_IDS.get((from_type, to_type))
    return [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": "Primary" if type_id == primary else None}
            for type_id in sorted(type_ids, key=lambda i: (i == primary, i))]


def labels(from_type: str, to_type: str) -> list[dict[str, Any]]:
    """``GET /crm/v4/associations/{from}/{to}/labels``."""
    return association_types(from_type, to_type, allowed_type_ids(from_type, to_type))
