"""A short-lived cache in front of the platform reader, for read tools only.

However many read calls arrive, each distinct platform read (campaign list, one campaign, one insights
query) goes upstream at most once per TTL: concurrent misses on one key wait for a single request
(single flight), and refusals (unknown ids, an unreachable platform) are remembered for the TTL too, so
a failing platform is not hammered. Draft tools never use this: they must record the live `before`.

The async methods serve a fresh entry on the event loop and send only misses to a worker thread, so the
hot path of an async read tool costs no thread hop and a slow platform never blocks the loop.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar, cast

import anyio.to_thread

from spendgate_core.domain.platform import Account, Campaign, Granularity, PerformanceRow
from spendgate_core.errors import NotFound, UpstreamError
from spendgate_core.usecases.ports import PlatformReader

T = TypeVar("T")

# Distinct keys are bounded by what agents ask for (insights ranges vary); expired entries go first.
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class _Entry:
    at: float
    value: Any
    error: NotFound | UpstreamError | None


class CachedReader:
    """A `PlatformReader` answering repeated reads from memory for `ttl_seconds`."""

    def __init__(
        self, reader: PlatformReader, *, ttl_seconds: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.platform = reader.platform
        self._reader = reader
        self._ttl = ttl_seconds
        self._now = monotonic
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._loading: dict[Hashable, threading.Lock] = {}

    def list_accounts(self) -> list[Account]:
        return self._cached(("accounts",), self._reader.list_accounts)

    def list_campaigns(self, account_id: str) -> list[Campaign]:
        return self._cached(("campaigns", account_id), lambda: self._reader.list_campaigns(account_id))

    def get_campaign(self, account_id: str, campaign_id: str) -> Campaign:
        return self._cached(
            ("campaign", account_id, campaign_id), lambda: self._reader.get_campaign(account_id, campaign_id)
        )

    def insights(
        self, account_id: str, *, campaign_id: str | None, since: date, until: date, granularity: Granularity
    ) -> list[PerformanceRow]:
        return self._cached(
            ("insights", account_id, campaign_id, since, until, granularity),
            lambda: self._reader.insights(
                account_id, campaign_id=campaign_id, since=since, until=until, granularity=granularity
            ),
        )

    async def alist_campaigns(self, account_id: str) -> list[Campaign]:
        return await self._acached(("campaigns", account_id), lambda: self._reader.list_campaigns(account_id))

    async def ainsights(
        self, account_id: str, *, campaign_id: str | None, since: date, until: date, granularity: Granularity
    ) -> list[PerformanceRow]:
        return await self._acached(
            ("insights", account_id, campaign_id, since, until, granularity),
            lambda: self._reader.insights(
                account_id, campaign_id=campaign_id, since=since, until=until, granularity=granularity
            ),
        )

    async def _acached(self, key: Hashable, load: Callable[[], T]) -> T:
        with self._lock:
            entry = self._fresh(key) if self._ttl > 0 else None
        if entry is None:
            return await anyio.to_thread.run_sync(self._cached, key, load)
        return cast(T, self._unwrap(entry))

    def _fresh(self, key: Hashable) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and self._now() - entry.at < self._ttl:
            return entry
        return None

    def _cached(self, key: Hashable, load: Callable[[], T]) -> T:
        if self._ttl <= 0:
            return load()
        with self._lock:
            entry = self._fresh(key)
            if entry is None:
                loading = self._loading.setdefault(key, threading.Lock())
        if entry is None:
            with loading:  # single flight: one upstream request per key, the others wait for it
                with self._lock:
                    entry = self._fresh(key)
                if entry is None:
                    entry = self._load(key, load)
            with self._lock:
                self._loading.pop(key, None)
        return cast(T, self._unwrap(entry))

    @staticmethod
    def _unwrap(entry: _Entry) -> Any:
        if entry.error is not None:
            # A copy: the same exception object raised in several threads at once would share a traceback.
            raise copy.copy(entry.error)
        return entry.value

    def _load(self, key: Hashable, load: Callable[[], T]) -> _Entry:
        try:
            entry = _Entry(self._now(), load(), None)
        except (NotFound, UpstreamError) as exc:
            entry = _Entry(self._now(), None, exc.with_traceback(None))
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            self._evict()
        return entry

    def _evict(self) -> None:
        if len(self._entries) <= MAX_ENTRIES:
            return
        now = self._now()
        for key in [k for k, e in self._entries.items() if now - e.at >= self._ttl]:
            del self._entries[key]
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
