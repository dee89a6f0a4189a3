"""Retry bookkeeping per draft: attempts against the budget, the last error, and the retry schedule.

Retries are ours, not RQ's. A transient failure puts the draft id in a Redis sorted set scored by the
time it is due (`Keys.apply_retries`); the sweep moves due ids back onto the queue as fresh jobs. RQ's own
`Retry`/`enqueue_in` would need a scheduler process and re-run a job id we also use for de-duplication;
the sorted set is one key, visible in metrics, survives any worker's death, and is drained by whichever
worker holds the sweep lock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import redis

from spendgate_core.adapters.keys import DEFAULT_KEYS, Keys

# A Retry-After longer than this is treated as this: the budget should end a hopeless draft in hours,
# not keep it pending for days on the platform's say-so.
MAX_RETRY_AFTER_SECONDS = 3600.0


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with jitter; a Retry-After from the platform sets the floor."""

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


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class RetrySchedule:
    """Redis state of in-flight applies, shared by every worker."""

    def __init__(self, client: redis.Redis, *, keys: Keys = DEFAULT_KEYS) -> None:
        self._r = client
        self.schedule_key = keys.apply_retries()
        self._attempts_key = keys.apply_attempts()
        self._errors_key = keys.apply_last_error()
        self._jobs_key = keys.apply_job()
        self._seq_key = keys.apply_seq()

    # attempts -----------------------------------------------------------------------------------------
    def count_attempt(self, draft_id: str) -> int:
        """Count one more attempt (1-based); counted before any upstream call, so a crash counts too."""
        return int(self._r.hincrby(self._attempts_key, draft_id, 1))

    def attempts(self, draft_id: str) -> int:
        return int(self._r.hget(self._attempts_key, draft_id) or 0)

    def note_error(self, draft_id: str, message: str) -> None:
        self._r.hset(self._errors_key, draft_id, message[:1000])

    def last_error(self, draft_id: str) -> str | None:
        return _text(self._r.hget(self._errors_key, draft_id))

    # schedule ---------------------------------------------------------------------------------------
    def schedule(self, draft_id: str, *, at: datetime) -> None:
        self._r.zadd(self.schedule_key, {draft_id: _ms(at)})

    def scheduled_at(self, draft_id: str) -> float | None:
        """Due time in epoch milliseconds, or None when the draft is not waiting for a retry."""
        score = self._r.zscore(self.schedule_key, draft_id)
        return None if score is None else float(score)

    def waiting(self, draft_id: str, *, now: datetime) -> bool:
        """Whether the draft waits for a retry that is not due yet."""
        due = self.scheduled_at(draft_id)
        return due is not None and due > _ms(now)

    def take_due(self, *, now: datetime, limit: int = 200) -> list[str]:
        """Claim the drafts whose retry is due; each id goes to exactly one caller (ZREM decides)."""
        due = self._r.zrangebyscore(self.schedule_key, "-inf", _ms(now), start=0, num=limit)
        claimed = []
        for raw in due:
            draft_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            if self._r.zrem(self.schedule_key, draft_id):
                claimed.append(draft_id)
        return claimed

    def depth(self) -> int:
        return int(self._r.zcard(self.schedule_key))

    # jobs -------------------------------------------------------------------------------------------
    def next_job_seq(self, draft_id: str) -> int:
        return int(self._r.hincrby(self._seq_key, draft_id, 1))

    def record_job(self, draft_id: str, job_id: str) -> None:
        self._r.hset(self._jobs_key, draft_id, job_id)

    def recorded_job(self, draft_id: str) -> str | None:
        return _text(self._r.hget(self._jobs_key, draft_id))

    def forget(self, draft_id: str) -> None:
        """The draft reached a final state: drop everything kept for its retries."""
        pipe = self._r.pipeline(transaction=True)
        pipe.zrem(self.schedule_key, draft_id)
        for key in (self._attempts_key, self._errors_key, self._jobs_key, self._seq_key):
            pipe.hdel(key, draft_id)
        pipe.execute()
