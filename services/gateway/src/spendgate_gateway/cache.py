"""A short-lived cache in front of the platform reader, for read tools only.

However many read calls arrive, each distinct platform read (a campaign list, one insights query) goes
upstream at most once per TTL: concurrent misses on one key await a single request (single flight), and
refusals (unknown ids, an unreachable platform) are remembered for the TTL too, so a failing platform is
not hammered. Draft tools never use this: they must record the live `before`.

Everything runs on the event loop: a fresh entry answers at once, and a miss awaits the loop's reader.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar, cast

from spendgate_core.domain.platform import Campaign, Granularity, PerformanceRow
from spendgate_core.errors import NotFound, UpstreamError
from spendgate_core.usecases.ports import AsyncPlatformReader

T = TypeVar("T")

# Distinct keys are bounded by what agents ask for (insights ranges vary); expired entries go first.
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class _Entry:
    at: float
    value: Any
    error: NotFound | UpstreamError | None


class CachedReader:
    """The read tools' campaign and insights reads, answered from memory for `ttl_seconds`."""

    def __init__(
        self,
        reader: AsyncPlatformReader,
        *,
        ttl_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.platform = reader.platform
        self._reader = reader
        self._ttl = ttl_seconds
        self._now = monotonic
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._loading: dict[Hashable, asyncio.Future[_Entry]] = {}

    async def list_campaigns(self, account_id: str) -> list[Campaign]:
        return await self._cached(("campaigns", account_id), lambda: self._reader.list_campaigns(account_id))

    async def insights(
        self, account_id: str, *, campaign_id: str | None, since: date, until: date, granularity: Granularity
    ) -> list[PerformanceRow]:
        return await self._cached(
            ("insights", account_id, campaign_id, since, until, granularity),
            lambda: self._reader.insights(
                account_id, campaign_id=campaign_id, since=since, until=until, granularity=granularity
            ),
        )

    async def _cached(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        if self._ttl <= 0:
            return await load()
        entry = self._fresh(key)
        if entry is None:
            loading = self._loading.get(key)
            if loading is None:  # single flight: one upstream request per key, the others await it
                loading = self._loading[key] = asyncio.ensure_future(self._load(key, load))
            # Shielded: a caller that hangs up does not cancel the read the others are waiting for.
            entry = await asyncio.shield(loading)
        return cast(T, self._unwrap(entry))

    def _fresh(self, key: Hashable) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and self._now() - entry.at < self._ttl:
            return entry
        return None

    @staticmethod
    def _unwrap(entry: _Entry) -> Any:
        if entry.error is not None:
            # A copy: one exception object raised in several tasks at once would share a traceback.
            raise copy.copy(entry.error)
        return entry.value

    async def _load(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> _Entry:
        try:
            try:
                entry = _Entry(self._now(), await load(), None)
            except (NotFound, UpstreamError) as exc:
                entry = _Entry(self._now(), None, exc.with_traceback(None))
            self._entries[key] = entry
            self._entries.move_to_end(key)
            self._evict()
            return entry
        finally:
            self._loading.pop(key, None)

    def _evict(self) -> None:
        if len(self._entries) <= MAX_ENTRIES:
            return
        now = self._now()
        for key in [k for k, e in self._entries.items() if now - e.at >= self._ttl]:
            del self._entries[key]
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
