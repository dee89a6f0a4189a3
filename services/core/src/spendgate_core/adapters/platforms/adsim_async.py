"""The live campaign read that adsim drafts start from, for an event loop (the gateway's proposals)."""

from __future__ import annotations

import aiohttp

from spendgate_core.adapters.platforms.adsim import PLATFORM, campaign_path, headers, unknown_campaign
from spendgate_core.adapters.platforms.async_http import aget, session
from spendgate_core.domain.platform import Campaign


class AsyncAdsimReader:
    platform = PLATFORM

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self._base = base_url.rstrip("/")
        self._headers = headers(token)
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # made on first use: a session belongs to the loop it was made on
            self._session = session(self._base, headers=self._headers, timeout=self._timeout)
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get_campaign(self, account_id: str, campaign_id: str) -> Campaign:
        response = await aget(
            self._client(),
            self._base + campaign_path(account_id, campaign_id),
            platform=PLATFORM,
            operation="get_campaign",
            not_found=unknown_campaign(account_id, campaign_id),
        )
        return Campaign.model_validate_json(response.content)
