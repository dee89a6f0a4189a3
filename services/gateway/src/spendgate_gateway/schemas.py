"""Tool argument types and structured outputs: what the model sends and reads. Money is a decimal string.

Amounts arrive as a JSON number or a decimal string and are validated as `Decimal` from their JSON text
(never through a Python float we compute with), then converted to minor units by
`spendgate_core.domain.money.to_minor`, which refuses what the currency cannot represent.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from spendgate_core.domain.ids import DRAFT_ID_PATTERN
from spendgate_core.domain.models import DraftStatus
from spendgate_core.domain.money import MAX_MAJOR_UNITS

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_LIMIT = 200

AccountId = Annotated[
    str, Field(pattern=ID_PATTERN, description="An account id from list_accounts, e.g. acc_us_001.")
]
CampaignId = Annotated[
    str, Field(pattern=ID_PATTERN, description="A campaign id from query_entities, e.g. cmp_us_007.")
]
DraftId = Annotated[
    str, Field(pattern=DRAFT_ID_PATTERN, description="A draft id: drf_ followed by a 26-character ULID.")
]
Reason = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2000,
        pattern=r"\S",
        description="Why, in a sentence or two, for the humans who approve (1 to 2000 characters).",
    ),
]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"At most this many items (1 to {MAX_LIMIT}).")]

MONEY_HINT = (
    'in the account currency\'s major unit, as a decimal string such as "650.00" (USD) or "5000" (JPY); '
    "a JSON number is accepted too, with no more decimals than the currency has"
)


def _amount_schema(schema: dict[str, Any]) -> None:
    """Advertise a plain decimal string (preferred) or a positive number; `to_minor` has the last word."""
    schema["anyOf"] = [
        {"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,3})?$"},
        {"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_MAJOR_UNITS)},
    ]


Amount = Annotated[
    Decimal, Field(gt=0, le=MAX_MAJOR_UNITS, allow_inf_nan=False, json_schema_extra=_amount_schema)
]


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


# accounts -----------------------------------------------------------------------------------------------
class AccountOut(Out):
    id: str
    name: str
    platform: str
    currency: str = Field(description="ISO 4217 code; every amount of this account is in it")
    timezone: str
    status: str


class AccountList(Out):
    accounts: list[AccountOut]


class CampaignRow(Out):
    id: str
    name: str
    status: Literal["ENABLED", "PAUSED"]
    daily_budget: str = Field(description="major units of the account currency")
    spend_today: str = Field(description="major units, since midnight UTC (the platform's day)")
    pacing: str | None = Field(
        description="spend_today / (daily_budget x share of the day elapsed); 1.00 is on pace, "
        "null when paused or at midnight"
    )


class Envelope(Out):
    limit_24h: str = Field(description="rolling-24h cap on applied daily-budget increases")
    used: str
    left: str


class AccountSnapshot(Out):
    account: AccountOut
    as_of: str = Field(description="UTC timestamp of this snapshot")
    currency: str
    spend_today: str
    spend_month_to_date: str = Field(description="since the 1st of this month (UTC), including today")
    campaigns: list[CampaignRow]
    envelope: Envelope
    pending_drafts: int = Field(description="drafts waiting for a human decision in this account")
    max_pending_drafts: int


# query_entities -----------------------------------------------------------------------------------------
CampaignField = Literal["id", "name", "status", "daily_budget", "spend_today", "pacing"]
FilterOp = Literal["eq", "ne", "gt", "gte", "lt", "lte", "contains"]


class EntityFilter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: CampaignField
    op: FilterOp
    value: Annotated[
        Decimal | Annotated[str, Field(max_length=200)],
        WithJsonSchema({"anyOf": [{"type": "string", "maxLength": 200}, {"type": "number"}]}),
        Field(
            description="A string for id, name and status; for daily_budget and spend_today an amount "
            + MONEY_HINT
            + "; for pacing a ratio such as 0.8"
        ),
    ]


class EntityPage(Out):
    account_id: str
    entity_type: Literal["campaign"]
    currency: str
    total_matches: int
    entities: list[CampaignRow]


# get_performance ----------------------------------------------------------------------------------------
class PerformanceRowOut(Out):
    date: dt.date | None = Field(description="the day, or null for a total over the range")
    impressions: int
    clicks: int
    spend: str
    conversions: int
    conversion_value: str
    ctr: str | None = Field(description="clicks / impressions, a ratio (0.0123 = 1.23%)")
    cpc: str | None = Field(description="spend / clicks, major units")
    cpa: str | None = Field(description="spend / conversions, major units")
    roas: str | None = Field(description="conversion_value / spend, a ratio")


class Performance(Out):
    account_id: str
    entity_id: str | None
    currency: str
    start_date: dt.date
    end_date: dt.date
    granularity: Literal["day", "total"]
    rows: list[PerformanceRowOut]


# drafts -------------------------------------------------------------------------------------------------
class ChangeOut(Out):
    entity_type: str
    entity_id: str
    field: str
    before: str = Field(description="the live value when drafted (money in major units)")
    after: str
    delta: str | None


class ImpactOut(Out):
    daily_budget_delta: str
    currency: str


class ActorOut(Out):
    name: str
    kind: str


class DraftOut(Out):
    """A draft: its changes (before and after), impact, status, approvals and review URL."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    account_id: str
    platform: str
    kind: str
    status: str
    version: int
    changes: list[ChangeOut]
    impact: ImpactOut
    reason: str
    proposed_by: ActorOut
    required_approvals: int
    approvals: list[dict[str, Any]]
    created_at: str
    expires_at: str
    decided_at: str | None
    decided_by: str | None
    decision_reason: str | None
    applied_at: str | None
    error: str | None
    rollback_of: str | None
    rolled_back_by: str | None
    url: str | None = Field(description="where humans review this draft")


class DraftList(Out):
    drafts: list[DraftOut]


class DraftProposal(Out):
    draft_id: str
    status: str
    kind: str
    account_id: str
    changes: list[ChangeOut] = Field(description="the diff: each field's live value before and after")
    impact: ImpactOut
    expires_at: str
    approvals_needed: int = Field(description="distinct humans who must each arm and confirm it")
    console_url: str
    next_step: str


class AuditEntry(Out):
    seq: int
    ts: str
    actor: str
    action: str
    account_id: str | None
    draft_id: str | None
    details: dict[str, Any]


class AuditLog(Out):
    account_id: str
    entries: list[AuditEntry]


DraftStatusFilter = Annotated[DraftStatus | None, Field(description="only drafts in this state")]
