"""The write adapter for adsim: conditional (If-Match), idempotent (Idempotency-Key) campaign updates."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from spendgate_core.adapters.platforms.adsim import PLATFORM
from spendgate_core.adapters.platforms.http import send
from spendgate_core.domain.models import CampaignStatus
from spendgate_core.domain.platform import Campaign
from spendgate_core.errors import PermanentUpstreamError, PreconditionFailed, TransientUpstreamError
from spendgate_core.logs import REQUEST_ID


class AdsimWriter:
    """`PlatformWriter` for adsim, over a client that carries the write token.

    A 412 is raised as `PreconditionFailed`: the value moved under us, so the caller re-reads and
    decides; it is neither a retryable outage nor a refusal of the change itself.
    """

    platform = PLATFORM

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

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
        body: dict[str, Any] = {}
        if daily_budget is not None:
            body["daily_budget"] = daily_budget
        if status is not None:
            body["status"] = status.value
        if not body:
            raise ValueError("update_campaign needs daily_budget, status or both")
        request = self._client.build_request(
            "PATCH",
            f"/v1/accounts/{quote(account_id, safe='')}/campaigns/{quote(campaign_id, safe='')}",
            json=body,
            headers={"If-Match": if_match, "Idempotency-Key": idempotency_key, **_request_id_header()},
        )
        try:
            response = send(
                self._client,
                request,
                platform=PLATFORM,
                operation="update_campaign",
                not_found=f"unknown campaign {campaign_id!r} in account {account_id!r}",
            )
        except PermanentUpstreamError as exc:
            if exc.status == 412:
                raise PreconditionFailed(exc.message) from None
            raise
        try:
            return Campaign.model_validate(response.json())
        except (ValueError, ValidationError):
            # The outcome is unknown, like a lost answer: the retry re-reads the live value and decides.
            raise TransientUpstreamError(
                f"{PLATFORM} answered update_campaign with a body spendgate cannot read",
                status=response.status_code,
            ) from None


def _request_id_header() -> dict[str, str]:
    """Let the platform's logs be joined with ours."""
    request_id = REQUEST_ID.get()
    return {"X-Request-Id": request_id} if request_id else {}
