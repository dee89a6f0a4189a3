"""Read adapter for adsim, the sandbox platform, with the read-only token: each read described once
(`AdsimRead`), sent by the blocking reader here or by the gateway's reader on its event loop (`live`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from spendgate_core.adapters.platforms.http import send
from spendgate_core.domain.platform import Account, Campaign, Granularity, PerformanceRow

PLATFORM = "adsim"

T = TypeVar("T")


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


@dataclass(frozen=True)
class AdsimRead(Generic[T]):
    """One read of adsim's API, described once for both clients (httpx here, aiohttp in `live`): where it
    goes, its name in metrics and errors, what a 404 means, and how its answer becomes models."""

    path: str
    operation: str
    not_found: str
    parse: Callable[[bytes], T]
    params: dict[str, str] | None = None


def _accounts(raw: bytes) -> list[Account]:
    return [Account.model_validate({**a, "platform": PLATFORM}) for a in json.loads(raw)["accounts"]]


def _campaigns(raw: bytes) -> list[Campaign]:
    return [Campaign.model_validate(c) for c in json.loads(raw)["campaigns"]]


def _rows(raw: bytes) -> list[PerformanceRow]:
    return [PerformanceRow.model_validate(r) for r in json.loads(raw)["rows"]]


def accounts_read() -> AdsimRead[list[Account]]:
    return AdsimRead("/v1/accounts", "list_accounts", "no accounts endpoint", _accounts)


def campaigns_read(account_id: str) -> AdsimRead[list[Campaign]]:
    path = f"/v1/accounts/{quote(account_id, safe='')}/campaigns"
    return AdsimRead(path, "list_campaigns", f"unknown account {account_id!r}", _campaigns)


def campaign_read(account_id: str, campaign_id: str) -> AdsimRead[Campaign]:
    return AdsimRead(
        campaign_path(account_id, campaign_id),
        "get_campaign",
        unknown_campaign(account_id, campaign_id),
        Campaign.model_validate_json,
    )


def insights_read(
    account_id: str, *, campaign_id: str | None, since: date, until: date, granularity: Granularity
) -> AdsimRead[list[PerformanceRow]]:
    params = {"since": since.isoformat(), "until": until.isoformat(), "granularity": granularity}
    if campaign_id is not None:
        params["campaign"] = campaign_id
    path = f"/v1/accounts/{quote(account_id, safe='')}/insights"
    return AdsimRead(path, "insights", f"unknown account {account_id!r}", _rows, params)


class AdsimReader:
    """`PlatformReader` for adsim over blocking httpx (the approval service and the executor)."""

    platform = PLATFORM

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def close(self) -> None:
        self._client.close()

    def _get(self, read: AdsimRead[T]) -> T:
        request = self._client.build_request("GET", read.path, params=read.params)
        response = send(
            self._client, request, platform=PLATFORM, operation=read.operation, not_found=read.not_found
        )
        return read.parse(response.content)

    def list_accounts(self) -> list[Account]:
        return self._get(accounts_read())

    def list_campaigns(self, account_id: str) -> list[Campaign]:
        return self._get(campaigns_read(account_id))

    def get_campaign(self, account_id: str, campaign_id: str) -> Campaign:
        return self._get(campaign_read(account_id, campaign_id))

    def insights(
        self, account_id: str, *, campaign_id: str | None, since: date, until: date, granularity: Granularity
    ) -> list[PerformanceRow]:
        read = insights_read(
            account_id, campaign_id=campaign_id, since=since, until=until, granularity=granularity
        )
        return self._get(read)
