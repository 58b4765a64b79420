"""Typed settings from environment variables and an optional ``.env`` file.

Environment variables win over the ``.env`` file. Secrets are ``SecretStr`` so they never
appear in ``repr``, logs or error messages. :func:`load_settings` turns every validation
problem into a :class:`SettingsError` that names the variable and what to set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_URL = "sqlite:///territory.db"


class SettingsError(Exception):
    """Settings are missing or invalid. The CLI exits with code 2 on it."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


class Settings(BaseSettings):
    """Everything the agent reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    territory_crm: Literal["salesforce", "hubspot"] | None = Field(
        default=None, description="Which CRM to talk to: salesforce or hubspot"
    )
    territory_db_url: str = Field(default=DEFAULT_DB_URL, description="SQLAlchemy URL of the store")
    territory_rules: Path = Field(default=Path("territory.yaml"), description="Rules file")
    territory_ca_file: Path | None = Field(
        default=None,
        description="CA bundle to trust for the built-in emulator only (written by sandbox serve)",
    )

    sf_instance_url: str | None = None
    sf_access_token: SecretStr | None = None
    sf_username: str | None = None
    sf_password: SecretStr | None = None
    sf_security_token: SecretStr | None = None
    sf_domain: str = "login"
    sf_client_id: str | None = None
    sf_private_key_file: Path | None = None
    sf_api_version: str = "59.0"

    hubspot_access_token: SecretStr | None = None
    hubspot_base_url: str | None = None
    hubspot_portal_id: str | None = Field(
        default=None, description="HubSpot account (portal) id, for links to company pages in reports"
    )

    territory_max_flags: int = Field(
        default=200, ge=0,
        description="Most conflict tasks one check or inbound check may create; above it nothing is written",
    )
    territory_lease_wait_s: float = Field(
        default=10.0, ge=0,
        description="Seconds a writing command waits for another one to release the store before exit 5",
    )

    territory_currency: str = Field(
        default="EUR", description="ISO 4217 code the CRM's amounts are in (report formatting)"
    )
    territory_quota_field: str | None = Field(
        default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
        description="API name of a number/currency field on the Salesforce User holding the rep's quarterly "
        "quota (e.g. Quarterly_Quota__c); synced with the owners, used by `territory report` when --reps "
        "gives no quota. HubSpot owners have no custom properties: not supported there",
    )

    territory_sync_interval_s: float = Field(
        default=60.0, gt=0, description="Agent: seconds between incremental sync + inbound check runs"
    )
    territory_approval_interval_s: float = Field(
        default=60.0, gt=0, description="Agent: seconds between decision polling + apply runs"
    )
    territory_rebalance_cron: str = Field(
        default="0 6 1 1,4,7,10 *",
        description="Agent: when to plan and publish a rebalance (crontab, UTC; 'off' disables it)",
    )
    territory_rebalance_time_limit_s: float = Field(
        default=60.0, gt=0, description="Agent: planner time limit of the scheduled rebalance"
    )

    @model_validator(mode="after")
    def _check_db_url(self) -> Settings:
        url = self.territory_db_url
        if not (url.startswith("sqlite") or url.startswith("postgresql")):
            raise ValueError("TERRITORY_DB_URL must start with sqlite:// or postgresql+psycopg://")
        return self

    def salesforce_auth_mode(self) -> Literal["session", "password", "jwt"]:
        """Which of the three supported Salesforce auth modes the settings describe."""
        if self.sf_instance_url and self.sf_access_token:
            return "session"
        if self.sf_username and self.sf_client_id and self.sf_private_key_file:
            return "jwt"
        if self.sf_username and self.sf_password and self.sf_security_token:
            return "password"
        raise SettingsError(
            "SF_ACCESS_TOKEN",
            "no complete Salesforce credentials: set SF_INSTANCE_URL + SF_ACCESS_TOKEN, or "
            "SF_USERNAME + SF_PASSWORD + SF_SECURITY_TOKEN (+ SF_DOMAIN), or SF_USERNAME + "
            "SF_CLIENT_ID + SF_PRIVATE_KEY_FILE (JWT bearer)",
        )

    def require_crm(self) -> Literal["salesforce", "hubspot"]:
        """The configured CRM, after checking its credentials are complete."""
        if self.territory_crm is None:
            raise SettingsError("TERRITORY_CRM", "not set: set it to salesforce or hubspot")
        if self.territory_ca_file and not self.territory_ca_file.is_file():
            raise SettingsError("TERRITORY_CA_FILE", f"file {self.territory_ca_file} does not exist: point it at "
                                "the CA file `territory sandbox serve` wrote, or unset it for a real CRM")
        if self.territory_crm == "salesforce":
            self.salesforce_auth_mode()
            if self.sf_private_key_file and not self.sf_private_key_file.exists():
                raise SettingsError(
                    "SF_PRIVATE_KEY_FILE", f"file {self.sf_private_key_file} does not exist"
                )
        elif self.hubspot_access_token is None:
            raise SettingsError(
                "HUBSPOT_ACCESS_TOKEN", "not set: create a private app and set its access token"
            )
        return self.territory_crm


_ENV_NAMES = {name: name.upper() for name in Settings.model_fields}


def load_settings(env_file: str | Path | None = ".env", **overrides: object) -> Settings:
    """Read settings, translating validation errors into :class:`SettingsError`."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        variable = _ENV_NAMES.get(field, field.upper())
        raise SettingsError(variable, first["msg"]) from None
