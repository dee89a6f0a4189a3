"""AsyncLedgerAppender against a real redis-server: the ledger's group commit driven from an event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
import redis
import redis.asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spendgate_core.adapters.ledger import AsyncLedgerAppender, RedisLedger
from spendgate_core.contracts.ledger import EntryRequest, LedgerCorruptError
from spendgate_core.contracts.signing import LedgerSigner
from spendgate_core.domain.clock import SystemClock
from tests.support.stack import KEYS

pytestmark = pytest.mark.anyio

SIGNER = LedgerSigner(Ed25519PrivateKey.generate())


def read(actor: str, account: str | None = "acc-1") -> EntryRequest:
    return EntryRequest(actor, "read", account, None, {"tool": "get_account_snapshot"})


@pytest.fixture
async def async_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def make_ledger(url: str) -> RedisLedger:
    return RedisLedger(redis=redis.Redis.from_url(url), signer=SIGNER, clock=SystemClock(), keys=KEYS)


async def test_appends_chain_and_verify(redis_url: str, async_client: redis.asyncio.Redis) -> None:
    ledger = make_ledger(redis_url)
    appender = AsyncLedgerAppender(ledger, async_client)
    first = await appender.append_many([read("a"), read("b", None)])
    second = await appender.append_many([read("c")])
    assert [e.seq for e in [*first, *second]] == [1, 2, 3]
    assert second[0].prev_hash == first[-1].hash
    assert [e.actor for e in ledger.latest(account_id="acc-1")] == ["c", "a"]
    assert ledger.verify().ok


async def test_loop_and_thread_appends_share_one_chain(
    redis_url: str, async_client: redis.asyncio.Redis
) -> None:
    """The gateway appends reads on its loop and drafts from worker threads, to the same ledger object and
    from other replicas: every entry lands once, in one linear, verifiable chain."""
    ledger = make_ledger(redis_url)
    other_replica = make_ledger(redis_url)
    appender = AsyncLedgerAppender(ledger, async_client)

    def threads_append() -> None:
        for i in range(40):
            (ledger if i % 2 else other_replica).append(
                actor=f"thread-{i}", action="draft", account_id="acc-2"
            )

    worker = threading.Thread(target=threads_append)
    worker.start()
    for i in range(40):
        await appender.append_many([read(f"loop-{i}-{k}") for k in range(3)])
        await asyncio.sleep(0)
    await asyncio.to_thread(worker.join)

    entries = list(ledger.export())
    assert [e.seq for e in entries] == list(range(1, 161))
    assert sorted(e.actor for e in entries if e.actor.startswith("thread-")) == sorted(
        f"thread-{i}" for i in range(40)
    )
    assert [e.actor for e in entries if e.actor.startswith("loop-")] == [
        f"loop-{i}-{k}" for i in range(40) for k in range(3)
    ]
    assert ledger.verify().ok


async def test_a_refused_request_writes_nothing_of_its_batch(
    redis_url: str, async_client: redis.asyncio.Redis
) -> None:
    ledger = make_ledger(redis_url)
    appender = AsyncLedgerAppender(ledger, async_client)
    with pytest.raises(ValueError, match="unknown ledger action"):
        await appender.append_many([read("a"), EntryRequest("a", "approve_everything")])
    with pytest.raises(ValueError, match="not representable"):
        await appender.append_many([read("a"), EntryRequest("a", "read", details={"x": float("nan")})])
    assert ledger.verify().entries == 0


async def test_refuses_to_extend_a_truncated_ledger(
    redis_url: str, async_client: redis.asyncio.Redis
) -> None:
    ledger = make_ledger(redis_url)
    appender = AsyncLedgerAppender(ledger, async_client)
    await appender.append_many([read(f"r{i}") for i in range(5)])
    await async_client.ltrim("sg:ledger:entries", 0, 2)
    with pytest.raises(LedgerCorruptError, match="refusing to extend"):
        await appender.append_many([read("late")])
    assert await async_client.llen("sg:ledger:entries") == 3


async def test_client_must_return_bytes(redis_url: str) -> None:
    decoding = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        with pytest.raises(ValueError, match="decode_responses=False"):
            AsyncLedgerAppender(make_ledger(redis_url), decoding)
    finally:
        await decoding.aclose()
