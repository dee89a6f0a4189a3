"""The write port: only the executor holds an implementation (and the write credentials)."""

from __future__ import annotations

from typing import Protocol

from spendgate_core.domain.models import CampaignStatus
from spendgate_core.domain.platform import Campaign


class PlatformWriter(Protocol):
    platform: str

    def update_campaign(
        self,
        account_id: str,
        campaign_id: str,
        *,
        daily_budget: int | None = None,
        status: CampaignStatus | None = None,
        if_match: str,
        idempotency_key: str,
    ) -> Campaign:
        """Write conditionally (If-Match) and idempotently; raise Transient/PermanentUpstreamError."""
        ...
