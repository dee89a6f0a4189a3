"""ReadAudit: read entries of concurrent calls are group-committed; failures reach the right calls."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence

import pytest

from spendgate_core.ledger import EntryRequest, LedgerEntry
from spendgate_gateway.audit import ReadAudit

pytestmark = pytest.mark.anyio


class RecordingLedger:
    """Stands in for the ledger port: records each batch; refuses what it is told to (as the real one
    does, before writing anything of the batch)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.threads: set[int] = set()
        self.refuse: set[str] = set()
        self.down = False
        self.release = threading.Event()
        self.release.set()

    def append_many(self, requests: Sequence[EntryRequest]) -> list[LedgerEntry]:
        self.release.wait(5)
        self.threads.add(threading.get_ident())
        if self.down:
            raise ConnectionError("redis is gone")
        if any(r.actor in self.refuse for r in requests):
            raise ValueError("ledger entry is not representable as JSON")
        self.batches.append([r.actor for r in requests])
        return []

    # The rest of the port is not used by ReadAudit.
    def append(self, **_: object) -> LedgerEntry:
        raise NotImplementedError

    def latest(self, *, account_id: str | None = None, limit: int = 50) -> list[LedgerEntry]:
        raise NotImplementedError

    def export(self) -> Iterator[LedgerEntry]:
        raise NotImplementedError

    def verify(self) -> object:
        raise NotImplementedError


def read(actor: str) -> EntryRequest:
    return EntryRequest(actor, "read", "acc_us_001", None, {"tool": "get_account_snapshot"})


async def test_concurrent_calls_share_commits_and_each_returns_after_its_own() -> None:
    ledger = RecordingLedger()
    audit = ReadAudit(ledger)  # type: ignore[arg-type]
    ledger.release.clear()  # hold the first commit so that the others pile up behind it
    first = asyncio.create_task(audit.record(read("call-0")))
    await asyncio.sleep(0.05)
    rest = [asyncio.create_task(audit.record(read(f"call-{i}"))) for i in range(1, 33)]
    await asyncio.sleep(0.05)
    assert not any(t.done() for t in [first, *rest])  # nobody is answered before their entry is stored
    ledger.release.set()
    await asyncio.gather(first, *rest)
    assert ledger.batches == [["call-0"], [f"call-{i}" for i in range(1, 33)]]
    assert threading.get_ident() not in ledger.threads  # commits never block the event loop


async def test_a_refused_entry_fails_only_its_own_call() -> None:
    ledger = RecordingLedger()
    ledger.refuse = {"bad"}
    audit = ReadAudit(ledger)  # type: ignore[arg-type]
    ledger.release.clear()
    blocker = asyncio.create_task(audit.record(read("first")))
    await asyncio.sleep(0.05)
    calls = [asyncio.create_task(audit.record(read(actor))) for actor in ("a", "bad", "b")]
    await asyncio.sleep(0.05)
    ledger.release.set()
    await blocker
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], ValueError)
    assert ledger.batches == [["first"], ["a"], ["b"]]


async def test_an_unreachable_ledger_fails_every_call_of_the_batch() -> None:
    ledger = RecordingLedger()
    ledger.down = True
    audit = ReadAudit(ledger)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(*(audit.record(read(f"c{i}")) for i in range(4)), return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    ledger.down = False
    await audit.record(read("after"))  # the next call commits normally
    assert ledger.batches == [["after"]]
