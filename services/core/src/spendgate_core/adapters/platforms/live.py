"""The gateway's platform reads, on its event loop, through aiohttp: the accounts, campaigns and insights
its read tools show, and the live campaign its proposals start from. Only the gateway imports this
module, so only the gateway loads aiohttp (an import-linter contract: it is slow and large to import).

aiohttp rather than httpx's AsyncClient: httpcore's asyncio pool rescans every pooled connection (a
poll() each) on every request and response, which made a live read cost several times aiohttp's CPU
(bench/). A session here behaves as the blocking httpx clients do: the same trust (the environment's
proxy, httpx's certificate store), no redirects followed, the body decoded once (by httpx, from the raw
answer), and every answer checked and counted by `http.checked`.
"""

from __future__ import annotations

import urllib.request
from datetime import date
from typing import TypeVar
from urllib.parse import urlsplit

import aiohttp
import httpx

from spendgate_core.adapters.platforms.adsim import (
    PLATFORM,
    AdsimRead,
    accounts_read,
    campaign_read,
    campaigns_read,
    headers,
    insights_read,
)
from spendgate_core.adapters.platforms.http import checked, timed_out, unreachable
from spendgate_core.domain.platform import Account, Campaign, Granularity, PerformanceRow

T = TypeVar("T")


def session(
    base_url: str,
    *,
    headers: dict[str, str],
    timeout: float,
    connect_timeout: float = 3.0,
    max_connections: int = 50,
) -> aiohttp.ClientSession:
    """A session for one platform; make it on the event loop that will use it (aiohttp requires it)."""
    return aiohttp.ClientSession(
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout),
        connector=aiohttp.TCPConnector(limit=max_connections, ssl=httpx.create_ssl_context()),
        proxy=env_proxy(base_url),
        auto_decompress=False,
    )


def env_proxy(base_url: str) -> str | None:
    """The proxy the environment names for `base_url` (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY), found once:
    aiohttp's `trust_env` looks it up again on every request, which costs more CPU than the GET itself."""
    url = urlsplit(base_url)
    if urllib.request.proxy_bypass(url.hostname or ""):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(url.scheme) or proxies.get("all")


async def aget(
    session: aiohttp.ClientSession,
    url: str,
    *,
    platform: str,
    operation: str,
    not_found: str,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    """One GET, counted and mapped onto the spendgate error tree as `http.send` does."""
    try:
        async with session.get(url, params=params, allow_redirects=False) as answer:
            raw = await answer.read()
        response = httpx.Response(answer.status, headers=answer.raw_headers, content=raw)
    except TimeoutError:  # aiohttp's timeouts are TimeoutErrors
        raise timed_out(platform, operation) from None
    except (aiohttp.ClientError, httpx.DecodingError) as exc:
        raise unreachable(platform, operation, exc) from None
    return checked(response, platform=platform, operation=operation, not_found=not_found)


class LiveAdsimReader:
    """`AsyncPlatformReader` for adsim, with the read-only token."""

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

    async def _get(self, read: AdsimRead[T]) -> T:
        response = await aget(
            self._client(),
            self._base + read.path,
            platform=PLATFORM,
            operation=read.operation,
            not_found=read.not_found,
            params=read.params,
        )
        return read.parse(response.content)

    async def list_accounts(self) -> list[Account]:
        return await self._get(accounts_read())

    async def list_campaigns(self, account_id: str) -> list[Campaign]:
        return await self._get(campaigns_read(account_id))

    async def get_campaign(self, account_id: str, campaign_id: str) -> Campaign:
        return await self._get(campaign_read(account_id, campaign_id))

    async def insights(
        self, account_id: str, *, campaign_id: str | None, since: date, until: date, granularity: Granularity
    ) -> list[PerformanceRow]:
        read = insights_read(
            account_id, campaign_id=campaign_id, since=since, until=until, granularity=granularity
        )
        return await self._get(read)
