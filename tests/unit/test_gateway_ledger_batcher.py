"""LedgerBatcher: entries of concurrent calls are group-committed; failures reach the right calls."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from spendgate_core.contracts.ledger import EntryRequest, LedgerEntry
from spendgate_gateway.audit import LedgerBatcher

pytestmark = pytest.mark.anyio


class RecordingAppender:
    """Stands in for the ledger's asyncio appender: records each batch; refuses what it is told to (as the
    real one does, before writing anything of the batch); can hold a commit open."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.refuse: set[str] = set()
        self.down = False
        self.release = asyncio.Event()
        self.release.set()

    async def append_many(self, requests: Sequence[EntryRequest]) -> list[LedgerEntry]:
        await asyncio.wait_for(self.release.wait(), 5)
        if self.down:
            raise ConnectionError("redis is gone")
        if any(r.actor in self.refuse for r in requests):
            raise ValueError("ledger entry is not representable as JSON")
        self.batches.append([r.actor for r in requests])
        return []


def read(actor: str) -> EntryRequest:
    return EntryRequest(actor, "read", "acc_us_001", None, {"tool": "get_account_snapshot"})


async def test_concurrent_calls_share_commits_and_each_returns_after_its_own() -> None:
    appender = RecordingAppender()
    audit = LedgerBatcher(appender)
    appender.release.clear()  # hold the first commit open: the loop keeps running, the others pile up
    first = asyncio.create_task(audit.record(read("call-0")))
    await asyncio.sleep(0.05)
    rest = [asyncio.create_task(audit.record(read(f"call-{i}"))) for i in range(1, 33)]
    await asyncio.sleep(0.05)
    assert not any(t.done() for t in [first, *rest])  # nobody is answered before their entry is stored
    appender.release.set()
    await asyncio.gather(first, *rest)
    assert appender.batches == [["call-0"], [f"call-{i}" for i in range(1, 33)]]


async def test_a_refused_entry_fails_only_its_own_call() -> None:
    appender = RecordingAppender()
    appender.refuse = {"bad"}
    audit = LedgerBatcher(appender)
    appender.release.clear()
    blocker = asyncio.create_task(audit.record(read("first")))
    await asyncio.sleep(0.05)
    calls = [asyncio.create_task(audit.record(read(actor))) for actor in ("a", "bad", "b")]
    await asyncio.sleep(0.05)
    appender.release.set()
    await blocker
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], ValueError)
    assert appender.batches == [["first"], ["a"], ["b"]]


async def test_an_unreachable_ledger_fails_every_call_of_the_batch() -> None:
    appender = RecordingAppender()
    appender.down = True
    audit = LedgerBatcher(appender)
    outcomes = await asyncio.gather(*(audit.record(read(f"c{i}")) for i in range(4)), return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    appender.down = False
    await audit.record(read("after"))  # the next call commits normally
    assert appender.batches == [["after"]]
