"""The ledger entries of tool calls, group-committed: one append per burst of concurrent calls.

Every answered read call and every draft is ledgered before its answer leaves. Calls that
finish while a commit is under way wait for the next one together, so under many concurrent calls a
commit carries dozens of entries for one Redis round trip and one checkpoint signature. Commits run on the
event loop with an asyncio Redis client (`AsyncLedgerAppender`): a worker thread per commit cost more
than the commit (bench/, reads at concurrency 8).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from spendgate_core.adapters.ledger import MAX_GROUP
from spendgate_core.contracts.ledger import EntryRequest, LedgerEntry


class Appender(Protocol):
    async def append_many(self, requests: Sequence[EntryRequest]) -> list[LedgerEntry]:
        """Up to `MAX_GROUP` entries, in order, all or none: ValueError, before writing, for one it
        cannot store."""
        ...


class LedgerBatcher:
    def __init__(self, appender: Appender) -> None:
        self._appender = appender
        self._pending: list[tuple[EntryRequest, asyncio.Future[None]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def record(self, request: EntryRequest) -> None:
        """Return once `request` is in the ledger; raise what the ledger raised for it."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append((request, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_pending(), name="ledger-batcher")
        # The entry is written even if this call is cancelled meanwhile: it was answered.
        await asyncio.shield(done)

    async def drain(self) -> None:
        """Wait until every entry recorded so far is committed (before the Redis client closes)."""
        while self._committer is not None and not self._committer.done():
            await asyncio.wait([self._committer])

    async def _commit_pending(self) -> None:
        while self._pending:
            # One commit at most: a commit is all or none, so every call of a batch shares its outcome.
            batch, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
            try:
                await self._appender.append_many([request for request, _ in batch])
            except ValueError:
                # The ledger refused the batch before writing any of it: find the one it refuses.
                await self._commit_one_by_one(batch)
            except Exception as exc:  # Redis unreachable, a corrupt ledger: every call of the batch fails
                _settle(batch, exc)
            else:
                _settle(batch, None)

    async def _commit_one_by_one(self, batch: list[tuple[EntryRequest, asyncio.Future[None]]]) -> None:
        for item in batch:
            try:
                await self._appender.append_many([item[0]])
            except Exception as exc:
                _settle([item], exc)
            else:
                _settle([item], None)


def _settle(batch: list[tuple[EntryRequest, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, done in batch:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)
