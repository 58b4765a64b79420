"""The rules file as typed data (pydantic). Parsing and error locations live in ``loader``.

Every model forbids unknown fields so a typo (``postcode:``) is an error with a line and
column instead of a silently ignored rule.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from territory.rules.postal import PostalRange, parse_postal_range

Tiebreaker = Literal["named_account", "priority", "sourcing_rep", "billing_territory", "lowest_load"]
DEFAULT_TIEBREAKERS: tuple[Tiebreaker, ...] = (
    "named_account",
    "priority",
    "sourcing_rep",
    "billing_territory",
    "lowest_load",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumberRange(_Strict):
    """Inclusive bounds; either side may be omitted."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> NumberRange:
        if self.min is None and self.max is None:
            raise ValueError("give at least one of min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}")
        return self

    def describe(self) -> str:
        """Human-readable bounds, e.g. ``>= 200`` or ``50..249``."""
        if self.min is not None and self.max is not None:
            return f"{self.min:g}..{self.max:g}"
        if self.min is not None:
            return f">= {self.min:g}"
        return f"<= {self.max:g}"

    def contains(self, value: float | None) -> bool:
        """Whether ``value`` is inside; a missing value is never inside."""
        if value is None or value != value:  # NaN means unknown
            return False
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)


class Match(_Strict):
    """Criteria that must all hold; a list criterion holds when any entry matches."""

    country: list[str] | None = None
    postal_code: list[str] | None = None
    industry: list[str] | None = None
    employees: NumberRange | None = None
    annual_revenue: NumberRange | None = None

    @field_validator("country", "postal_code", "industry", mode="before")
    @classmethod
    def _scalar_to_list(cls, value: object) -> object:
        # `country: DE` is as natural as `country: [DE]`; numbers become strings ("49").
        if isinstance(value, (str, int)):
            value = [value]
        if isinstance(value, list):
            return [str(item) if isinstance(item, int) else item for item in value]
        return value

    @field_validator("country", "industry")
    @classmethod
    def _not_empty(cls, values: list[str] | None) -> list[str] | None:
        if values is not None and not values:
            raise ValueError("the list is empty; remove the key or name at least one value")
        return values

    @field_validator("postal_code")
    @classmethod
    def _valid_ranges(cls, values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        if not values:
            raise ValueError("the list is empty; remove the key or name at least one prefix")
        for entry in values:
            parse_postal_range(entry)  # raises ValueError with the offending entry
        return values

    @model_validator(mode="after")
    def _at_least_one(self) -> Match:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError(
                "match names no criterion; use country, postal_code, industry, employees "
                "or annual_revenue"
            )
        return self

    def postal_ranges(self) -> list[PostalRange]:
        """Parsed postal-code prefixes and ranges."""
        return [parse_postal_range(entry) for entry in self.postal_code or []]

    def describe(self) -> str:
        """The criteria as written, e.g. ``country DE, postal_code 20-29|49``."""
        parts: list[str] = []
        for name in ("country", "postal_code", "industry"):
            values = getattr(self, name)
            if values is not None:
                parts.append(f"{name} {'|'.join(values)}")
        for name in ("employees", "annual_revenue"):
            bounds = getattr(self, name)
            if bounds is not None:
                parts.append(f"{name} {bounds.describe()}")
        return ", ".join(parts)


class Territory(_Strict):
    """A territory: who owns the accounts that match."""

    id: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    match: Match
    priority: int = 0
    name: str | None = None


class NamedAccount(_Strict):
    """A named-account override by account id or website domain (exactly one of them)."""

    account: str | None = None
    domain: str | None = None
    owner: str = Field(min_length=1)
    reason: str | None = None

    @model_validator(mode="after")
    def _one_key(self) -> NamedAccount:
        if (self.account is None) == (self.domain is None):
            raise ValueError("give exactly one of account or domain")
        return self

    def describe(self) -> str:
        """``account ACC-1`` or ``domain bosch.de``."""
        return f"account {self.account}" if self.account is not None else f"domain {self.domain}"


class ChannelRule(_Strict):
    match: Match


class Channels(_Strict):
    """Partner-led accounts must be owned by a partner rep; direct-only ones carry no partner."""

    partner_led: ChannelRule | None = None
    direct_only: ChannelRule | None = None


class Potential(_Strict):
    """How potential is computed: revenue x share of wallet, or weighted open pipeline."""

    method: Literal["annual_revenue", "opportunities"] = "annual_revenue"
    share_of_wallet: float = Field(default=0.05, gt=0, le=1)
    default_probability: float = Field(default=0.2, ge=0, le=1)
    stage_probabilities: dict[str, float] = Field(default_factory=dict)
    # Upper bound per account: one giant account (a Siemens-sized revenue) would otherwise
    # outweigh a whole territory and make balance impossible; such accounts are named accounts.
    cap: float | None = Field(default=None, gt=0)
    # Prospect lists (``territory market``): revenue estimated from employees where a list has
    # no revenue, and a weight per industry (missing industries weigh 1).
    revenue_per_employee: float | None = Field(default=None, gt=0)
    industry_weights: dict[str, float] = Field(default_factory=dict)

    @field_validator("stage_probabilities")
    @classmethod
    def _probabilities(cls, values: dict[str, float]) -> dict[str, float]:
        for stage, probability in values.items():
            if not 0 <= probability <= 1:
                raise ValueError(f"probability of stage {stage!r} must be between 0 and 1")
        return values


class Tier(_Strict):
    """An ABC tier: accounts up to ``potential_share`` of cumulative potential."""

    name: str = Field(min_length=1)
    potential_share: float = Field(gt=0, le=1)
    touches_per_quarter: float = Field(ge=0)


def _default_tiers() -> list[Tier]:
    return [
        Tier(name="A", potential_share=0.8, touches_per_quarter=6),
        Tier(name="B", potential_share=0.95, touches_per_quarter=4),
        Tier(name="C", potential_share=1.0, touches_per_quarter=3),
    ]


class Coverage(_Strict):
    """Coverage and capacity settings shared by rules, planner and reports."""

    capacity_per_rep: float = Field(default=200, gt=0)
    potential: Potential = Field(default_factory=Potential)
    tiers: list[Tier] = Field(default_factory=_default_tiers)
    # the CRM field (Salesforce Account field, HubSpot company property) holding each account's
    # visit mode: field, remote or hybrid; synced into the store for the planner
    visit_mode_field: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")

    @field_validator("tiers")
    @classmethod
    def _tiers_ascending(cls, tiers: list[Tier]) -> list[Tier]:
        if not tiers:
            raise ValueError("give at least one tier")
        shares = [tier.potential_share for tier in tiers]
        if shares != sorted(shares) or len(set(shares)) != len(shares):
            raise ValueError("tiers must be listed with strictly ascending potential_share")
        if shares[-1] != 1.0:
            raise ValueError("the last tier must have potential_share 1.0 (it takes the rest)")
        return tiers


class Approvers(_Strict):
    """Who may decide reassignment proposals besides the CRM's managers.

    ``users`` may decide any proposal. ``managers`` maps a rep to their manager where the
    CRM does not say (HubSpot has no manager field) or says it wrongly; it adds to and
    overrides the CRM's manager of that rep.
    """

    users: list[str] = Field(default_factory=list)
    managers: dict[str, str] = Field(default_factory=dict)

    @field_validator("users")
    @classmethod
    def _unique_users(cls, values: list[str]) -> list[str]:
        for value in values:
            if not str(value).strip():
                raise ValueError("an approver id is empty")
        if len(set(values)) != len(values):
            twice = next(v for v in values if values.count(v) > 1)
            raise ValueError(f"approver {twice!r} is listed twice")
        return values

    @field_validator("managers")
    @classmethod
    def _no_self_managers(cls, values: dict[str, str]) -> dict[str, str]:
        for rep, manager in values.items():
            if not str(manager).strip():
                raise ValueError(f"the manager of {rep!r} is empty")
            if rep == manager:
                raise ValueError(f"{rep!r} is named as their own manager")
        return values


class RulesConfig(_Strict):
    """The whole rules file."""

    version: Literal[1]
    territories: list[Territory] = Field(default_factory=list)
    named_accounts: list[NamedAccount] = Field(default_factory=list)
    channels: Channels = Field(default_factory=Channels)
    partner_reps: list[str] = Field(default_factory=list)
    tiebreakers: list[Tiebreaker] = Field(default_factory=lambda: list(DEFAULT_TIEBREAKERS))
    grandfather_open_opportunities: bool = True
    auto_assign: bool = False
    approvers: Approvers = Field(default_factory=Approvers)
    coverage: Coverage = Field(default_factory=Coverage)
    # Where each value came from (set by the loader) so later checks can cite lines.
    _origin: Any = PrivateAttr(default=None)

    @field_validator("tiebreakers")
    @classmethod
    def _tiebreaker_order(cls, values: list[Tiebreaker]) -> list[Tiebreaker]:
        if len(set(values)) != len(values):
            raise ValueError("a tiebreaker is listed twice")
        if "named_account" in values and values[0] != "named_account":
            # Named accounts override territories outright; listing it later would suggest
            # a priority or a sourcing rep could beat a named-account entry, which it cannot.
            raise ValueError("named_account must come first: named accounts always win")
        return values
