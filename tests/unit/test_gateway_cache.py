"""The gateway's read cache, on the event loop: one upstream read per key per TTL, single flight,
refusals remembered."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from spendgate_core.domain.models import CampaignStatus
from spendgate_core.domain.platform import Account, Campaign, Granularity, PerformanceRow
from spendgate_core.errors import NotFound, TransientUpstreamError
from spendgate_gateway.cache import MAX_ENTRIES, CachedReader


class CountingReader:
    """An in-memory platform that counts what it is asked (a fake of the port, not of our code)."""

    platform = "fake"

    def __init__(self, *, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.delay = delay
        self.fail: Exception | None = None

    async def _seen(self, *call: str) -> None:
        self.calls.append(call)
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail

    async def list_accounts(self) -> list[Account]:
        await self._seen("accounts")
        return [Account(id="a", name="A", platform="fake", currency="USD", timezone="UTC", status="ACTIVE")]

    async def list_campaigns(self, account_id: str) -> list[Campaign]:
        await self._seen("campaigns", account_id)
        if account_id == "missing":
            raise NotFound(f"unknown account {account_id!r}")
        return [self._campaign(account_id, "c1")]

    async def get_campaign(self, account_id: str, campaign_id: str) -> Campaign:
        await self._seen("campaign", account_id, campaign_id)
        return self._campaign(account_id, campaign_id)

    async def insights(
        self, account_id: str, *, campaign_id: str | None, since: date, until: date, granularity: Granularity
    ) -> list[PerformanceRow]:
        await self._seen(
            "insights", account_id, str(campaign_id), since.isoformat(), until.isoformat(), granularity
        )
        return []

    @staticmethod
    def _campaign(account_id: str, campaign_id: str) -> Campaign:
        return Campaign(
            id=campaign_id,
            account_id=account_id,
            name=campaign_id,
            status=CampaignStatus.ENABLED,
            daily_budget=100,
            spend_today=10,
            etag='"1"',
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


pytestmark = pytest.mark.anyio

JAN1, JAN2, JAN3 = date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)


async def test_repeated_reads_within_the_ttl_go_upstream_once() -> None:
    upstream, clock = CountingReader(), Clock()
    cache = CachedReader(upstream, ttl_seconds=2, monotonic=clock)
    first = await cache.list_campaigns("a")
    for _ in range(50):
        assert await cache.list_campaigns("a") is first  # the same list: derived views can key on it
        await cache.insights("a", campaign_id=None, since=JAN1, until=JAN2, granularity="day")
    assert len(upstream.calls) == 2
    await cache.insights("a", campaign_id=None, since=JAN1, until=JAN3, granularity="day")
    await cache.list_campaigns("b")
    assert len(upstream.calls) == 4  # different keys are different reads
    clock.now += 2.0
    assert await cache.list_campaigns("a") is not first
    assert upstream.calls.count(("campaigns", "a")) == 2  # expired after the TTL
    assert cache.platform == "fake"


async def test_concurrent_misses_share_one_upstream_request() -> None:
    upstream = CountingReader(delay=0.2)
    cache = CachedReader(upstream, ttl_seconds=5)
    answers = await asyncio.gather(*(cache.list_campaigns("a") for _ in range(20)))
    assert upstream.calls == [("campaigns", "a")]
    assert all(a is answers[0] for a in answers)


async def test_a_caller_that_hangs_up_leaves_the_shared_read_running() -> None:
    upstream = CountingReader(delay=0.2)
    cache = CachedReader(upstream, ttl_seconds=5)
    impatient = asyncio.ensure_future(cache.list_campaigns("a"))
    await asyncio.sleep(0.05)
    impatient.cancel()
    assert (await cache.list_campaigns("a"))[0].id == "c1"
    assert upstream.calls == [("campaigns", "a")]


async def test_refusals_are_remembered_for_the_ttl_and_raised_fresh() -> None:
    upstream, clock = CountingReader(), Clock()
    cache = CachedReader(upstream, ttl_seconds=2, monotonic=clock)
    upstream.fail = TransientUpstreamError("platform down", status=503)
    raised = []
    for _ in range(5):
        with pytest.raises(TransientUpstreamError) as caught:
            await cache.list_campaigns("a")
        raised.append(caught.value)
    assert len(upstream.calls) == 1
    assert all(e.status == 503 and e.message == "platform down" for e in raised)
    assert len({id(e) for e in raised}) == 5  # a copy each time, never one object shared between tasks
    upstream.fail = None
    for _ in range(2):
        with pytest.raises(NotFound):
            await cache.list_campaigns("missing")
    assert upstream.calls.count(("campaigns", "missing")) == 1
    with pytest.raises(TransientUpstreamError):
        await cache.list_campaigns("a")
    clock.now += 2.5
    assert (await cache.list_campaigns("a"))[0].id == "c1"


async def test_unexpected_errors_are_not_cached() -> None:
    upstream = CountingReader()
    cache = CachedReader(upstream, ttl_seconds=60)
    upstream.fail = RuntimeError("bug")
    for _ in range(2):
        with pytest.raises(RuntimeError):
            await cache.list_campaigns("a")
    assert len(upstream.calls) == 2


async def test_ttl_zero_turns_the_cache_off() -> None:
    upstream = CountingReader()
    cache = CachedReader(upstream, ttl_seconds=0)
    for _ in range(3):
        await cache.list_campaigns("a")
    assert len(upstream.calls) == 3


async def test_the_cache_stays_bounded() -> None:
    upstream, clock = CountingReader(), Clock()
    cache = CachedReader(upstream, ttl_seconds=60, monotonic=clock)
    for n in range(MAX_ENTRIES + 100):
        await cache.list_campaigns(f"a{n}")
    assert len(cache._entries) == MAX_ENTRIES
    await cache.list_campaigns(f"a{MAX_ENTRIES + 99}")  # the newest are kept
    assert len(upstream.calls) == MAX_ENTRIES + 100
