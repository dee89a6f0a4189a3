"""The read port: what the gateway, the approval service and the executor read from an ad platform."""

from __future__ import annotations

from datetime import date
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from spendgate_core.models import CampaignStatus


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


class PlatformReader(Protocol):
    platform: str

    def list_accounts(self) -> list[Account]: ...

    def list_campaigns(self, account_id: str) -> list[Campaign]: ...

    def get_campaign(self, account_id: str, campaign_id: str) -> Campaign:
        """The live campaign; raises NotFound for an unknown account or campaign."""
        ...

    def insights(
        self, account_id: str, *, campaign_id: str | None, since: date, until: date, granularity: Granularity
    ) -> list[PerformanceRow]: ...


class AsyncCampaignReader(Protocol):
    """The live campaign read that drafts start from, for an event loop."""

    platform: str

    async def get_campaign(self, account_id: str, campaign_id: str) -> Campaign:
        """As `PlatformReader.get_campaign`."""
        ...
