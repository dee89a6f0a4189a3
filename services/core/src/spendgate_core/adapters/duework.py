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


# New work: once per `once` marker (when given), never moving an item already waiting.
_ADD = """
if ARGV[3] ~= '0' and not redis.call('set', KEYS[3], 1, 'NX', 'EX', ARGV[3]) then return 0 end
local added = redis.call('zadd', KEYS[1], 'NX', ARGV[2], ARGV[1])
if added == 1 and ARGV[4] ~= '0' then redis.call('hset', KEYS[2], ARGV[1], ARGV[4]) end
return added
"""
# Take what is due: lease each item ahead and (ARGV[4] == '1') count the attempt; over the budget
# (ARGV[5], 0: none) the item is removed instead. Returns item, attempt, item, attempt, …
_TAKE = """
local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local out = {}
for _, item in ipairs(due) do
  local attempt = 0
  if ARGV[4] == '1' then attempt = redis.call('hincrby', KEYS[2], item, 1) end
  if ARGV[5] ~= '0' and attempt > tonumber(ARGV[5]) then
    redis.call('zrem', KEYS[1], item)
    redis.call('hdel', KEYS[2], item)
  else
    redis.call('zadd', KEYS[1], ARGV[2], item)
  end
  table.insert(out, item)
  table.insert(out, attempt)
end
return out
"""
# Settle a take, only while its lease (ARGV[2]) is the item's score: ARGV[3] empty removes the item
# (and its attempt count), else it is due again at ARGV[3].
_SETTLE = """
local score = redis.call('zscore', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('zrem', KEYS[1], ARGV[1])
  redis.call('hdel', KEYS[2], ARGV[1])
else
  redis.call('zadd', KEYS[1], ARGV[3], ARGV[1])
end
return 1
"""


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
        self._add = client.register_script(_ADD)
        self._take = client.register_script(_TAKE)
        self._settle = client.register_script(_SETTLE)

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
        return bool(
            self._add(keys=[self.key, self._attempts_key, marker], args=[item, when, ttl, attempts_made])
        )

    def put(self, item: str, *, at: datetime) -> None:
        """Make `item` due at `at`, whether it waits already or not (no lease is honoured)."""
        self._r.zadd(self.key, {item: _ms(at)})

    # taking and settling ------------------------------------------------------------------------------
    def take(self, *, limit: int = 100, count_attempts: bool = True) -> list[Taken]:
        """Lease every due item (up to `limit`) to the caller; each goes to exactly one taker."""
        now = self._clock.now()
        lease_ms = _ms(now) + self._lease_ms
        flat = self._take(
            keys=[self.key, self._attempts_key],
            args=[_ms(now), lease_ms, limit, int(count_attempts), self.max_attempts or 0],
        )
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
        return bool(self._settle(keys=[self.key, self._attempts_key], args=[taken.item, taken.lease_ms, ""]))

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
        ok = bool(
            self._settle(keys=[self.key, self._attempts_key], args=[taken.item, taken.lease_ms, _ms(next_at)])
        )
        return Settled("retrying", next_at) if ok else Settled("stale")

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

    def waiting(self, item: str) -> bool:
        """Whether the item waits for a time not reached yet."""
        due = self.due_at(item)
        return due is not None and due > self._clock.now()

    def attempts(self, item: str) -> int:
        return int(self._r.hget(self._attempts_key, item) or 0)

    def depth(self) -> int:
        return int(self._r.zcard(self.key))
