"""Durable background work: a Redis due set with leases, attempt counting, backoff and a give-up budget.

    put/add ──▶ sorted set `key` (member = item, score = due time in epoch ms)
    take    ──▶ each due item's score moves a lease ahead (one atomic script: exactly one taker), its
                attempt is counted, and the taker gets a `Taken` whose `lease_ms` fences what it settles
    succeeded / release ──▶ removed          failed ──▶ due again after backoff, or given up at the budget

A taker that dies simply never settles: the lease passes, the item is due again and the next `take`
hands it to someone else, counting that attempt too. Settling is fenced by the lease: a taker whose lease
passed (and whose item was taken again) changes nothing. Apply retries, outbound event deliveries and
Slack retries all run on this one component.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import redis

from spendgate_core.adapters.commands import Command, Runner
from spendgate_core.domain.clock import Clock

# A Retry-After longer than this is treated as this: a budget should end hopeless work in hours, not keep
# it waiting for days on the other side's say-so.
MAX_RETRY_AFTER_SECONDS = 3600.0


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter; a Retry-After from the other side sets the floor."""

    base_seconds: float
    max_seconds: float
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        # "Equal jitter": at least half the step, so retries spread out but never bunch at zero.
        wait = ceiling / 2 + self.jitter() * ceiling / 2
        if retry_after is not None:
            wait = max(wait, min(retry_after, MAX_RETRY_AFTER_SECONDS))
        return float(wait)


@dataclass(frozen=True)
class Taken:
    """One item a taker holds until `lease_ms` (epoch ms, also the fencing token of its settlement)."""

    item: str
    attempt: int  # 1-based; 0 when the set does not count attempts for this take
    lease_ms: int
    exhausted: bool = False  # over the budget (earlier takers died): already removed, only to report


@dataclass(frozen=True)
class Settled:
    outcome: Literal["done", "retrying", "gave_up", "stale"]  # stale: the lease had passed, nothing changed
    next_at: datetime | None = None


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class DueSet:
    """Items (strings) due at a time, shared by every process on one Redis.

    `max_attempts` and `backoff` are the budget and the delays `failed` applies; without them `failed`
    is unavailable and the owner schedules retries itself with `put`.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        key: str,
        clock: Clock,
        lease_seconds: float,
        backoff: Backoff | None = None,
        max_attempts: int | None = None,
    ) -> None:
        self._r = client
        self.key = key
        self._attempts_key = f"{key}:attempts"
        self._clock = clock
        self._lease_ms = max(1, int(lease_seconds * 1000))
        self._backoff = backoff
        self.max_attempts = max_attempts
        self._scripts = Runner.of(client)

    # adding -------------------------------------------------------------------------------------------
    def add(
        self,
        item: str,
        *,
        at: datetime | None = None,
        once_for: timedelta | None = None,
        attempts_made: int = 0,
    ) -> bool:
        """New work due at `at`; False when it waits already or, with `once_for`, was added within that
        long (a re-read source must not do the work twice). `attempts_made`: attempts already spent
        elsewhere (a first try made inline), due by default after their backoff, else now."""
        if at is None and attempts_made and self._backoff is not None:
            at = self._clock.now() + timedelta(seconds=self._backoff.delay(attempts_made))
        marker = f"{self.key}:once:{hashlib.sha256(item.encode()).hexdigest()[:24]}"
        ttl = 0 if once_for is None else max(1, int(once_for.total_seconds()))
        when = _ms(at or self._clock.now())
        keys = (self.key, self._attempts_key, marker)
        return self._scripts.run(Command(bool, "due_add", keys, (item, when, ttl, attempts_made)))

    def put(self, item: str, *, at: datetime) -> None:
        """Make `item` due at `at`, whether it waits already or not (no lease is honoured)."""
        self._r.zadd(self.key, {item: _ms(at)})

    # taking and settling ------------------------------------------------------------------------------
    def take(
        self, *, limit: int = 100, count_attempts: bool = True, now: datetime | None = None
    ) -> list[Taken]:
        """Lease every due item (up to `limit`) to the caller; each goes to exactly one taker."""
        now = now or self._clock.now()
        lease_ms = _ms(now) + self._lease_ms
        args = (_ms(now), lease_ms, limit, int(count_attempts), self.max_attempts or 0)
        flat = self._scripts.run(Command(list, "due_take", (self.key, self._attempts_key), args))
        taken = []
        for raw, attempt in zip(flat[::2], flat[1::2], strict=True):
            over = self.max_attempts is not None and int(attempt) > self.max_attempts
            taken.append(Taken(_text(raw), int(attempt), lease_ms, exhausted=over))
        return taken

    def holds(self, taken: Taken) -> bool:
        """Whether `taken`'s lease is still the item's (nobody took it over since)."""
        score = self._r.zscore(self.key, taken.item)
        return score is not None and int(score) == taken.lease_ms

    def succeeded(self, taken: Taken) -> bool:
        """The work is done: remove the item. False when the lease had passed (nothing changed)."""
        return self._settle(taken, "")

    release = succeeded  # the taker handed the work on (to a queued job that carries it from here)

    def failed(self, taken: Taken, *, retry_after: float | None = None) -> Settled:
        """The attempt failed: due again after the backoff, or given up once the budget is spent."""
        if self._backoff is None or self.max_attempts is None:
            raise TypeError("failed() needs a DueSet built with a backoff and max_attempts")
        if taken.attempt >= self.max_attempts:
            ok = self.succeeded(taken)
            return Settled("gave_up" if ok else "stale")
        next_at = self._clock.now() + timedelta(
            seconds=self._backoff.delay(taken.attempt, retry_after=retry_after)
        )
        return Settled("retrying", next_at) if self._settle(taken, _ms(next_at)) else Settled("stale")

    def _settle(self, taken: Taken, next_ms: int | str) -> bool:
        """Settle `taken` while its lease holds: due again at `next_ms`, or removed when it is ''."""
        args = (taken.item, taken.lease_ms, next_ms)
        return self._scripts.run(Command(bool, "due_settle", (self.key, self._attempts_key), args))

    # looking ------------------------------------------------------------------------------------------
    def remove(self, item: str) -> None:
        """Drop the item and its attempt count, whoever holds it."""
        pipe = self._r.pipeline(transaction=True)
        pipe.zrem(self.key, item)
        pipe.hdel(self._attempts_key, item)
        pipe.execute()

    def due_at(self, item: str) -> datetime | None:
        """When the item is due (a taken one: when its lease passes); None when it is not waiting."""
        score = self._r.zscore(self.key, item)
        return None if score is None else datetime.fromtimestamp(score / 1000, UTC)

    def waiting(self, item: str, *, now: datetime | None = None) -> bool:
        """Whether the item waits for a time not reached yet (at `now`, by default the clock's)."""
        due = self.due_at(item)
        return due is not None and due > (now or self._clock.now())

    def attempts(self, item: str) -> int:
        return int(self._r.hget(self._attempts_key, item) or 0)

    def depth(self) -> int:
        return int(self._r.zcard(self.key))
