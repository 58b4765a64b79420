"""``territory doctor``: check settings, store and CRM access; say what to fix.

Checks run in order and stop early where later ones cannot run (no CRM checks without valid
settings). Each result names the check, whether it passed and either a detail or the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from territory.config.settings import Settings, SettingsError
from territory.connector.base import CrmConnector
from territory.connector.errors import CrmError
from territory.sync.store import (
    create_store_engine,
    head_revision,
    migrate_to_head,
    schema_revision,
)

AREA_CONFIG = "config"
AREA_STORE = "store"
AREA_CRM = "crm"
AREA_INSTALL = "install"
USAGE_WARN_SHARE = 0.9
"""Fail the usage check once this share of the CRM's API allowance is used."""


@dataclass(frozen=True)
class CheckResult:
    """One doctor check."""

    name: str
    passed: bool
    detail: str
    area: str


def run_doctor(
    load: Callable[[], Settings], build: Callable[[Settings], CrmConnector]
) -> list[CheckResult]:
    """All checks in order: settings, store, then (with a configured CRM) CRM access."""
    try:
        settings = load()
    except SettingsError as exc:
        return [CheckResult("settings", False, f"{exc.variable}: {exc.problem}", AREA_CONFIG)]
    results = [check_settings(settings), check_store(settings.territory_db_url)]
    if results[0].passed:
        results.extend(check_crm(settings, build))
    return results


def check_settings(settings: Settings) -> CheckResult:
    """The settings name a CRM and hold complete credentials for it."""
    try:
        crm = settings.require_crm()
    except SettingsError as exc:
        return CheckResult("settings", False, f"{exc.variable}: {exc.problem}", AREA_CONFIG)
    return CheckResult("settings", True, f"CRM {crm}, credentials complete", AREA_CONFIG)


def check_store(url: str) -> CheckResult:
    """The store is reachable and its schema is at the newest revision (migrating if not)."""
    try:
        engine = create_store_engine(url)
    except Exception as exc:
        return CheckResult("store", False, f"bad TERRITORY_DB_URL: {exc}", AREA_STORE)
    try:
        before = schema_revision(engine)
        head = head_revision()
        if before != head:
            migrate_to_head(engine)
        detail = f"{engine.url.render_as_string(hide_password=True)} at schema {head}"
        if before != head:
            detail += f" (migrated from {before or 'empty'})"
        return CheckResult("store", True, detail, AREA_STORE)
    except Exception as exc:
        cause = getattr(exc, "orig", None) or exc  # the driver's own words, without SA noise
        reason = " ".join(str(cause).split())
        return CheckResult(
            "store", False,
            f"cannot open the store: {type(cause).__name__}: {reason}. "
            "Check TERRITORY_DB_URL, that "
            "the database server runs and that the user may create tables.",
            AREA_STORE,
        )
    finally:
        engine.dispose()


def check_crm(
    settings: Settings, build: Callable[[Settings], CrmConnector]
) -> list[CheckResult]:
    """Connectivity, authentication, permissions/scopes and API usage left."""
    try:
        connector = build(settings)
    except SettingsError as exc:
        return [CheckResult("settings", False, f"{exc.variable}: {exc.problem}", AREA_CONFIG)]
    except Exception as exc:
        return [CheckResult("crm connection", False, _describe(exc), AREA_CRM)]
    try:
        results = [
            CheckResult(name, passed, detail, AREA_CRM)
            for name, passed, detail in connector.check_access()
        ]
    except Exception as exc:
        return [CheckResult("crm access", False, _describe(exc), AREA_CRM)]
    if results and not all(r.passed for r in results):
        return results
    if not any("usage" in r.name for r in results):  # some connectors check usage themselves
        results.append(_check_usage(connector))
    return results + check_install(connector)


def check_install(connector: CrmConnector) -> list[CheckResult]:
    """What `territory install` put into the CRM is all still there (someone may have deleted
    a field or property). Nothing installed yet is fine: the loop is then simply not in use."""
    check = getattr(connector, "check_install", None)
    if check is None:
        return []
    try:
        found = check()
    except Exception as exc:
        return [CheckResult("install", False, _describe(exc), AREA_INSTALL)]
    if len(found) == 1 and not found[0][1]:
        return [CheckResult(f"install: {found[0][0]}", True,
                            "not installed yet: run `territory install` to publish proposals in the CRM", AREA_INSTALL)]
    return [CheckResult(f"install: {name}", passed, detail, AREA_INSTALL) for name, passed, detail in found]


def _check_usage(connector: CrmConnector) -> CheckResult:
    try:
        usage = connector.fetch_usage()
    except Exception as exc:
        return CheckResult("api usage", False, _describe(exc), AREA_CRM)
    if usage.used is None or usage.limit is None:
        return CheckResult("api usage", True, "the CRM does not report a daily limit", AREA_CRM)
    left = usage.limit - usage.used
    detail = f"{usage.used} of {usage.limit} API calls used today, {left} left"
    if usage.used >= USAGE_WARN_SHARE * usage.limit:
        return CheckResult(
            "api usage", False,
            detail + ": wait for the daily reset or raise the limit before a full sync",
            AREA_CRM,
        )
    return CheckResult("api usage", True, detail, AREA_CRM)


def _describe(exc: Exception) -> str:
    if isinstance(exc, CrmError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}. Check the CRM URL and network access."


def doctor_exit_code(results: list[CheckResult]) -> int:
    """0 all passed, 2 a settings/store problem, 3 a CRM problem (also a part of the install gone)."""
    failed = {r.area for r in results if not r.passed}
    if failed & {AREA_CONFIG, AREA_STORE}:
        return 2
    if failed & {AREA_CRM, AREA_INSTALL}:
        return 3
    return 0
