"""Drafts for tests, made the way production makes them: the one drafting use case (`drafting.propose_*`,
`deciding.request_rollback`) on an event loop, with asyncio clients on the same Redis as `core`.

For blocking test code: each call runs its own event loop (in a thread of its own when the caller's
thread already runs one) and opens and closes its own clients, since asyncio connections belong to the
loop that made them. The live campaign read goes through `core.reader`
in a worker thread (the gateway reads through its aiohttp reader; the use case is the same).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
import redis.asyncio

from spendgate_core.adapters.ledger import AsyncLedgerAppender, RedisLedger
from spendgate_core.adapters.store import AsyncDraftStore, RedisDraftStore
from spendgate_core.domain.models import Draft
from spendgate_core.domain.platform import Campaign
from spendgate_core.usecases import deciding, drafting
from spendgate_core.usecases.deps import CoreDeps
from spendgate_core.usecases.ports import PlatformReader


class ThreadedReader:
    """An `AsyncCampaignReader` over a blocking one."""

    def __init__(self, reader: PlatformReader) -> None:
        self.platform = reader.platform
        self._reader = reader

    async def get_campaign(self, account_id: str, campaign_id: str) -> Campaign:
        return await anyio.to_thread.run_sync(self._reader.get_campaign, account_id, campaign_id)


@asynccontextmanager
async def draft_io(core: CoreDeps) -> AsyncIterator[drafting.DraftIO]:
    """The I/O the use case runs on, on this event loop, for the Redis and platform `core` uses."""
    assert isinstance(core.store, RedisDraftStore) and isinstance(core.ledger, RedisLedger)
    where = core.store.client.connection_pool.connection_kwargs
    client = redis.asyncio.Redis(host=where["host"], port=where["port"], db=where.get("db", 0))
    io = drafting.DraftIO(
        reader=ThreadedReader(core.reader),
        store=AsyncDraftStore(client, keys=core.store.keys),
        ledger=AsyncLedgerAppender(core.ledger, client),
    )
    try:
        yield io
    finally:
        await io.drain()
        await client.aclose()


def _run(core: CoreDeps, use_case: Callable[..., Awaitable[Draft]], arguments: dict[str, Any]) -> Draft:
    async def run() -> Draft:
        async with draft_io(core) as io:
            return await use_case(deps=core, io=io, **arguments)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    # Called under a running loop (Playwright's sync API keeps one in this thread): use a thread's own.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, run()).result()


def propose_budget_change(*, deps: CoreDeps, **arguments: Any) -> Draft:
    return _run(deps, drafting.propose_budget_change, arguments)


def propose_budget_shift(*, deps: CoreDeps, **arguments: Any) -> Draft:
    return _run(deps, drafting.propose_budget_shift, arguments)


def propose_status_change(*, deps: CoreDeps, **arguments: Any) -> Draft:
    return _run(deps, drafting.propose_status_change, arguments)


def request_rollback(*, deps: CoreDeps, **arguments: Any) -> Draft:
    return _run(deps, deciding.request_rollback, arguments)


withdraw_draft = drafting.withdraw_draft
