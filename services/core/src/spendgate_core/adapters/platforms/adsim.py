"""Read adapter for adsim, the sandbox platform, with the read-only token."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

import httpx

from spendgate_core.adapters.platforms.http import send
from spendgate_core.domain.platform import Account, Campaign, Granularity, PerformanceRow

PLATFORM = "adsim"


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def _client_options(base_url: str, token: str, timeout: float) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "headers": headers(token),
        "timeout": httpx.Timeout(timeout, connect=3.0),
        "limits": httpx.Limits(max_connections=50, max_keepalive_connections=20),
    }


def adsim_client(base_url: str, token: str, *, timeout: float = 10.0) -> httpx.Client:
    return httpx.Client(**_client_options(base_url, token, timeout))


def campaign_path(account_id: str, campaign_id: str) -> str:
    return f"/v1/accounts/{quote(account_id, safe='')}/campaigns/{quote(campaign_id, safe='')}"


def unknown_campaign(account_id: str, campaign_id: str) -> str:
    return f"unknown campaign {campaign_id!r} in account {account_id!r}"


class AdsimReader:
    platform = PLATFORM

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def close(self) -> None:
        self._client.close()

    def _get(self, path: str, *, operation: str, not_found: str, params: dict[str, str] | None = None) -> Any:
        request = self._client.build_request("GET", path, params=params)
        return send(self._client, request, platform=PLATFORM, operation=operation, not_found=not_found).json()

    def list_accounts(self) -> list[Account]:
        body = self._get("/v1/accounts", operation="list_accounts", not_found="no accounts endpoint")
        return [Account.model_validate({**a, "platform": PLATFORM}) for a in body["accounts"]]

    def list_campaigns(self, account_id: str) -> list[Campaign]:
        body = self._get(
            f"/v1/accounts/{quote(account_id, safe='')}/campaigns",
            operation="list_campaigns",
            not_found=f"unknown account {account_id!r}",
        )
        return [Campaign.model_validate(c) for c in body["campaigns"]]

    def get_campaign(self, account_id: str, campaign_id: str) -> Campaign:
        body = self._get(
            campaign_path(account_id, campaign_id),
            operation="get_campaign",
            not_found=unknown_campaign(account_id, campaign_id),
        )
        return Campaign.model_validate(body)

    def insights(
        self, account_id: str, *, campaign_id: str | None, since: date, until: date, granularity: Granularity
    ) -> list[PerformanceRow]:
        params = {"since": since.isoformat(), "until": until.isoformat(), "granularity": granularity}
        if campaign_id is not None:
            params["campaign"] = campaign_id
        body = self._get(
            f"/v1/accounts/{quote(account_id, safe='')}/insights",
            operation="insights",
            not_found=f"unknown account {account_id!r}",
            params=params,
        )
        return [PerformanceRow.model_validate(r) for r in body["rows"]]
