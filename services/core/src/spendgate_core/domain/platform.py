"""The read port: what the gateway, the approval service and the executor read from an ad platform."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from spendgate_core.domain.models import CampaignStatus


class _Upstream(BaseModel):
    # Unsafe consumption (OWASP API10): platform answers are validated like user input, unknown keys ignored.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Account(_Upstream):
    id: str
    name: str
    platform: str
    currency: str
    timezone: str
    status: str


class Campaign(_Upstream):
    id: str
    account_id: str
    name: str
    status: CampaignStatus
    daily_budget: int
    spend_today: int
    etag: str


class PerformanceRow(_Upstream):
    date: date | None
    campaign_id: str | None
    impressions: int
    clicks: int
    spend: int
    conversions: int
    conversion_value: int


Granularity = Literal["day", "total"]
