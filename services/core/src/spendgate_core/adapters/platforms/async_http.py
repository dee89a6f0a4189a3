"""GETs on an event loop, through aiohttp: the live reads the gateway's proposals start from. Only the
gateway imports this module, so only the gateway loads aiohttp (half a second and 5 MiB to import here).

aiohttp rather than httpx's AsyncClient: httpcore's asyncio pool rescans every pooled connection (a poll()
each) on every request and response, which made a live read cost five times aiohttp's CPU (bench/: 1.8
against 0.35 ms per GET at concurrency 8). A session here behaves as the blocking httpx clients do: the
same trust (the environment's proxy, httpx's certificate store), no redirects followed, the body decoded
once (by httpx, from the raw answer), and every answer checked and counted by `http.checked`.
"""

from __future__ import annotations

import urllib.request
from urllib.parse import urlsplit

import aiohttp
import httpx

from spendgate_core.adapters.platforms.http import checked, timed_out, unreachable


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
    aiohttp's `trust_env` looks it up again on every request, 0.9 ms of CPU per GET here."""
    url = urlsplit(base_url)
    if urllib.request.proxy_bypass(url.hostname or ""):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(url.scheme) or proxies.get("all")


async def aget(
    session: aiohttp.ClientSession, url: str, *, platform: str, operation: str, not_found: str
) -> httpx.Response:
    """One GET, counted and mapped onto the spendgate error tree as `http.send` does."""
    try:
        async with session.get(url, allow_redirects=False) as answer:
            raw = await answer.read()
        response = httpx.Response(answer.status, headers=answer.raw_headers, content=raw)
    except TimeoutError:  # aiohttp's timeouts are TimeoutErrors
        raise timed_out(platform, operation) from None
    except (aiohttp.ClientError, httpx.DecodingError) as exc:
        raise unreachable(platform, operation, exc) from None
    return checked(response, platform=platform, operation=operation, not_found=not_found)
