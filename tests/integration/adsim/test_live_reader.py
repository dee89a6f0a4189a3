"""The gateway's platform reads on its event loop (aiohttp) against a real adsim: for every read (accounts,
campaigns, one campaign, insights) the same answers and the same errors as the blocking reader (httpx),
for unknown ids, injected error statuses, a refused token, a slow answer, a compressed answer, a redirect
and an unreachable port."""

from __future__ import annotations

import gzip
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spendgate_core.adapters.platforms.adsim import AdsimReader, adsim_client
from spendgate_core.adapters.platforms.live import LiveAdsimReader
from spendgate_core.domain.platform import Campaign
from spendgate_core.errors import NotFound, PermanentUpstreamError, SpendgateError, TransientUpstreamError
from tests.support.servers import serve_in_thread

from .conftest import READ
from .test_faults_insights import set_faults

pytestmark = pytest.mark.anyio

SEED = 5
ACCOUNT, CAMPAIGN = "acc_eu_002", "cmp_eu_001"

Read = Callable[[str, str], Awaitable[Campaign]]


@pytest.fixture
async def live(base_url: str, sim: httpx.Client) -> AsyncIterator[LiveAdsimReader]:
    reader = LiveAdsimReader(base_url, READ, timeout=1.0)
    yield reader
    await reader.aclose()


@pytest.fixture
def blocking(base_url: str, sim: httpx.Client) -> Iterator[Read]:
    reader = AdsimReader(adsim_client(base_url, READ, timeout=1.0))

    async def read(account_id: str, campaign_id: str) -> Campaign:
        return reader.get_campaign(account_id, campaign_id)

    yield read
    reader.close()


async def outcome(read: Read, account_id: str = ACCOUNT, campaign_id: str = CAMPAIGN) -> Any:
    """What a read gave: the campaign, or the error's type, message, status and retry hint."""
    try:
        return await read(account_id, campaign_id)
    except SpendgateError as exc:
        return (type(exc), str(exc), getattr(exc, "status", None), getattr(exc, "retry_after", None))


async def test_a_campaign_reads_the_same_through_both_clients(live: LiveAdsimReader, blocking: Read) -> None:
    campaign = await live.get_campaign(ACCOUNT, CAMPAIGN)
    assert campaign == await blocking(ACCOUNT, CAMPAIGN)
    assert (campaign.id, campaign.account_id) == (CAMPAIGN, ACCOUNT)


def every_read(reader: Any, account_id: str = ACCOUNT) -> dict[str, Callable[[], Any]]:
    """Each read of the port, by name, for either reader (blocking calls return values, async ones
    coroutines)."""
    until = date.today() - timedelta(days=1)
    since = until - timedelta(days=6)
    return {
        "list_accounts": lambda: reader.list_accounts(),
        "list_campaigns": lambda: reader.list_campaigns(account_id),
        "get_campaign": lambda: reader.get_campaign(account_id, CAMPAIGN),
        "insights": lambda: reader.insights(
            account_id, campaign_id=None, since=since, until=until, granularity="day"
        ),
    }


async def outcomes(reader: Any, account_id: str = ACCOUNT) -> dict[str, Any]:
    """What every read gave, by name: its answer, or the error's type, message, status and retry hint."""
    found: dict[str, Any] = {}
    for name, read in every_read(reader, account_id).items():
        try:
            answer = read()
            found[name] = await answer if isinstance(answer, Awaitable) else answer
        except SpendgateError as exc:
            found[name] = (
                type(exc),
                str(exc),
                getattr(exc, "status", None),
                getattr(exc, "retry_after", None),
            )
    return found


@pytest.fixture
def blocking_reader(base_url: str, sim: httpx.Client) -> Iterator[AdsimReader]:
    reader = AdsimReader(adsim_client(base_url, READ, timeout=1.0))
    yield reader
    reader.close()


async def test_every_read_answers_the_same_through_both_clients(
    live: LiveAdsimReader, blocking_reader: AdsimReader
) -> None:
    got = await outcomes(live)
    assert got == await outcomes(blocking_reader)
    assert {a.id for a in got["list_accounts"]} >= {ACCOUNT}
    assert CAMPAIGN in {c.id for c in got["list_campaigns"]}
    assert len(got["insights"]) == 7


async def test_every_read_fails_the_same_through_both_clients(
    live: LiveAdsimReader, blocking_reader: AdsimReader, sim: httpx.Client
) -> None:
    unknown = await outcomes(live, "acc_nope")
    assert unknown == await outcomes(blocking_reader, "acc_nope")
    assert unknown["list_campaigns"][0] is NotFound and unknown["insights"][0] is NotFound
    set_faults(sim, error_rate=1, error_status=503, scope="reads")
    down = await outcomes(live)
    assert down == await outcomes(blocking_reader)
    assert all(got[0] is TransientUpstreamError and got[2] == 503 for got in down.values())


async def test_an_unknown_campaign_is_not_found(live: LiveAdsimReader, blocking: Read) -> None:
    with pytest.raises(NotFound, match="unknown campaign 'cmp_nope'"):
        await live.get_campaign(ACCOUNT, "cmp_nope")
    assert await outcome(live.get_campaign, ACCOUNT, "cmp_nope") == await outcome(
        blocking, ACCOUNT, "cmp_nope"
    )


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_injected_errors_map_as_the_blocking_reader_maps_them(
    live: LiveAdsimReader, blocking: Read, sim: httpx.Client, status: int
) -> None:
    set_faults(sim, error_rate=1, error_status=status, scope="reads")
    got = await outcome(live.get_campaign)
    assert got[0] is TransientUpstreamError and got[2] == status
    assert got == await outcome(blocking)
    if status == 429:
        assert got[3] is not None and got[3] > 0


async def test_a_refused_token_is_permanent(base_url: str, sim: httpx.Client) -> None:
    live = LiveAdsimReader(base_url, "not-the-token")
    blocking = AdsimReader(adsim_client(base_url, "not-the-token"))
    try:
        got = await outcome(live.get_campaign)
        assert got[0] is PermanentUpstreamError and got[2] == 401
        assert got == await outcome(lambda a, c: _now(blocking.get_campaign(a, c)))
    finally:
        await live.aclose()
        blocking.close()


async def _now(campaign: Campaign) -> Campaign:
    return campaign


def odd_platform(campaign: Campaign) -> Starlette:
    """Answers adsim's campaign path as some proxies and platforms do: gzip-compressed, or redirected."""

    async def compressed(_: Request) -> Response:
        body = gzip.compress(campaign.model_dump_json().encode())
        return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip"})

    async def moved(_: Request) -> Response:
        return Response(status_code=302, headers={"Location": "/v1/accounts/elsewhere"})

    return Starlette(
        routes=[
            Route(f"/v1/accounts/{ACCOUNT}/campaigns/{CAMPAIGN}", compressed),
            Route(f"/v1/accounts/{ACCOUNT}/campaigns/cmp_moved", moved),
        ]
    )


async def test_compressed_and_redirected_answers_read_as_through_httpx(live: LiveAdsimReader) -> None:
    campaign = await live.get_campaign(ACCOUNT, CAMPAIGN)
    with serve_in_thread(odd_platform(campaign)) as url:
        odd_live = LiveAdsimReader(url, READ)
        odd_blocking = AdsimReader(adsim_client(url, READ))
        try:
            assert await odd_live.get_campaign(ACCOUNT, CAMPAIGN) == campaign  # decompressed once
            moved = await outcome(odd_live.get_campaign, ACCOUNT, "cmp_moved")
            assert moved[0] is PermanentUpstreamError and moved[2] == 302  # not followed
            assert moved == await outcome(
                lambda a, c: _now(odd_blocking.get_campaign(a, c)), ACCOUNT, "cmp_moved"
            )
        finally:
            await odd_live.aclose()
            odd_blocking.close()


async def test_a_slow_platform_is_a_transient_timeout(live: LiveAdsimReader, sim: httpx.Client) -> None:
    set_faults(sim, latency_ms=3000, scope="reads")
    with pytest.raises(TransientUpstreamError, match="did not answer get_campaign in time"):
        await live.get_campaign(ACCOUNT, CAMPAIGN)


async def test_an_unreachable_platform_is_transient() -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    reader = LiveAdsimReader(f"http://127.0.0.1:{port}/", READ, timeout=2.0)
    try:
        with pytest.raises(TransientUpstreamError, match="could not be reached for get_campaign"):
            await reader.get_campaign(ACCOUNT, CAMPAIGN)
    finally:
        await reader.aclose()
