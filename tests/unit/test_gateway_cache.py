"""The gateway's read cache: one upstream read per key per TTL, single flight, refusals remembered."""

from __future__ import annotations

import threading
import time
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
        self._lock = threading.Lock()

    def _seen(self, *call: str) -> None:
        with self._lock:
            self.calls.append(call)
        time.sleep(self.delay)
        if self.fail is not None:
            raise self.fail

    def list_accounts(self) -> list[Account]:
        self._seen("accounts")
        return [Account(id="a", name="A", platform="fake", currency="USD", timezone="UTC", status="ACTIVE")]

    def list_campaigns(self, account_id: str) -> list[Campaign]:
        self._seen("campaigns", account_id)
        return [self._campaign(account_id, "c1")]

    def get_campaign(self, account_id: str, campaign_id: str) -> Campaign:
        self._seen("campaign", account_id, campaign_id)
        if campaign_id == "missing":
            raise NotFound(f"unknown campaign {campaign_id!r}")
        return self._campaign(account_id, campaign_id)

    def insights(
        self, account_id: str, *, campaign_id: str | None, since: date, until: date, granularity: Granularity
    ) -> list[PerformanceRow]:
        self._seen(
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


def test_repeated_reads_within_the_ttl_go_upstream_once() -> None:
    upstream, clock = CountingReader(), Clock()
    cache = CachedReader(upstream, ttl_seconds=2, monotonic=clock)
    for _ in range(50):
        assert cache.list_campaigns("a")[0].id == "c1"
        cache.get_campaign("a", "c1")
        cache.insights(
            "a", campaign_id=None, since=date(2025, 1, 1), until=date(2025, 1, 2), granularity="day"
        )
    assert len(upstream.calls) == 3
    cache.insights("a", campaign_id=None, since=date(2025, 1, 1), until=date(2025, 1, 3), granularity="day")
    cache.list_campaigns("b")
    assert len(upstream.calls) == 5  # different keys are different reads
    clock.now += 2.0
    cache.list_campaigns("a")
    assert upstream.calls.count(("campaigns", "a")) == 2  # expired after the TTL
    assert cache.platform == "fake"


def test_concurrent_misses_share_one_upstream_request() -> None:
    upstream = CountingReader(delay=0.2)
    cache = CachedReader(upstream, ttl_seconds=5)
    barrier = threading.Barrier(20)

    def read() -> None:
        barrier.wait()
        cache.list_campaigns("a")

    threads = [threading.Thread(target=read) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert upstream.calls == [("campaigns", "a")]


def test_refusals_are_remembered_for_the_ttl_and_raised_fresh() -> None:
    upstream, clock = CountingReader(), Clock()
    cache = CachedReader(upstream, ttl_seconds=2, monotonic=clock)
    upstream.fail = TransientUpstreamError("platform down", status=503)
    raised = []
    for _ in range(5):
        with pytest.raises(TransientUpstreamError) as caught:
            cache.list_campaigns("a")
        raised.append(caught.value)
    assert len(upstream.calls) == 1
    assert all(e.status == 503 and e.message == "platform down" for e in raised)
    assert len({id(e) for e in raised}) == 5  # a copy each time, never one object shared between threads
    upstream.fail = None
    with pytest.raises(NotFound):
        cache.get_campaign("a", "missing")
    with pytest.raises(NotFound):
        cache.get_campaign("a", "missing")
    assert upstream.calls.count(("campaign", "a", "missing")) == 1
    with pytest.raises(TransientUpstreamError):
        cache.list_campaigns("a")
    clock.now += 2.5
    assert cache.list_campaigns("a")[0].id == "c1"


def test_unexpected_errors_are_not_cached() -> None:
    upstream = CountingReader()
    cache = CachedReader(upstream, ttl_seconds=60)
    upstream.fail = RuntimeError("bug")
    for _ in range(2):
        with pytest.raises(RuntimeError):
            cache.list_accounts()
    assert len(upstream.calls) == 2


def test_ttl_zero_turns_the_cache_off() -> None:
    upstream = CountingReader()
    cache = CachedReader(upstream, ttl_seconds=0)
    for _ in range(3):
        cache.list_campaigns("a")
    assert len(upstream.calls) == 3


def test_the_cache_stays_bounded() -> None:
    upstream, clock = CountingReader(), Clock()
    cache = CachedReader(upstream, ttl_seconds=60, monotonic=clock)
    for n in range(MAX_ENTRIES + 100):
        cache.get_campaign("a", f"c{n}")
    assert len(cache._entries) == MAX_ENTRIES
    cache.get_campaign("a", f"c{MAX_ENTRIES + 99}")  # the newest are kept
    assert len(upstream.calls) == MAX_ENTRIES + 100


@pytest.mark.anyio
async def test_async_reads_answer_fresh_entries_on_the_loop_and_misses_in_a_thread() -> None:
    upstream, clock = CountingReader(), Clock()
    cache = CachedReader(upstream, ttl_seconds=2, monotonic=clock)
    loop_thread = threading.get_ident()
    seen_in: list[int] = []
    original = upstream._seen

    def recording(*call: str) -> None:
        seen_in.append(threading.get_ident())
        original(*call)

    upstream._seen = recording  # type: ignore[method-assign]
    first = await cache.alist_campaigns("a")
    assert await cache.alist_campaigns("a") is first  # the same list: derived views can key on it
    rows = await cache.ainsights(
        "a", campaign_id=None, since=date(2025, 1, 1), until=date(2025, 1, 2), granularity="total"
    )
    assert rows == []
    assert upstream.calls == [
        ("campaigns", "a"),
        ("insights", "a", "None", "2025-01-01", "2025-01-02", "total"),
    ]
    assert loop_thread not in seen_in  # every platform request left the event loop
    clock.now += 2
    assert await cache.alist_campaigns("a") is not first


@pytest.mark.anyio
async def test_async_reads_raise_remembered_refusals() -> None:
    upstream = CountingReader()
    upstream.fail = TransientUpstreamError("adsim is down")
    cache = CachedReader(upstream, ttl_seconds=60)
    for _ in range(3):
        with pytest.raises(TransientUpstreamError):
            await cache.alist_campaigns("a")
    assert upstream.calls == [("campaigns", "a")]
