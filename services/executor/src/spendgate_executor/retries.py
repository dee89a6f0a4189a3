"""Retry bookkeeping per draft: attempts against the budget, the last error, and the retry schedule.

Retries are ours, not RQ's. A transient failure makes the draft due again in the shared due set
(`Keys.apply_retries`, a `spendgate_core.adapters.duework.DueSet`); the sweep takes due drafts and hands each
to a fresh job. RQ's own `Retry`/`enqueue_in` would need a scheduler process and re-run a job id we also
use for de-duplication; the due set is one key, visible in metrics, survives any worker's death, and a
sweep that dies between taking a draft and enqueueing its job leaves a lease that passes in seconds.
Attempts are counted by the apply itself (before any upstream call, so a crash counts too), not on take:
the first attempt never passes through the set.
"""

from __future__ import annotations

from datetime import datetime

import redis

from spendgate_core.adapters.duework import DueSet
from spendgate_core.adapters.keys import Keys
from spendgate_core.domain.clock import Clock

# Long enough to enqueue a job; short enough that a sweep killed in between costs seconds.
TAKE_LEASE_SECONDS = 10.0


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class RetrySchedule:
    """Redis state of in-flight applies, shared by every worker."""

    def __init__(self, client: redis.Redis, *, clock: Clock, keys: Keys) -> None:
        self._r = client
        self.due = DueSet(client, key=keys.apply_retries(), clock=clock, lease_seconds=TAKE_LEASE_SECONDS)
        self.schedule_key = self.due.key
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
        self.due.put(draft_id, at=at)

    def scheduled_at(self, draft_id: str) -> float | None:
        """Due time in epoch milliseconds, or None when the draft is not waiting for a retry."""
        due = self.due.due_at(draft_id)
        return None if due is None else due.timestamp() * 1000

    def waiting(self, draft_id: str, *, now: datetime) -> bool:
        """Whether the draft waits for a retry that is not due yet."""
        return self.due.waiting(draft_id, now=now)

    def depth(self) -> int:
        return self.due.depth()

    # jobs -------------------------------------------------------------------------------------------
    def next_job_seq(self, draft_id: str) -> int:
        return int(self._r.hincrby(self._seq_key, draft_id, 1))

    def record_job(self, draft_id: str, job_id: str) -> None:
        self._r.hset(self._jobs_key, draft_id, job_id)

    def recorded_job(self, draft_id: str) -> str | None:
        return _text(self._r.hget(self._jobs_key, draft_id))

    def forget(self, draft_id: str) -> None:
        """The draft reached a final state: drop everything kept for its retries."""
        self.due.remove(draft_id)
        pipe = self._r.pipeline(transaction=True)
        for key in (self._attempts_key, self._errors_key, self._jobs_key, self._seq_key):
            pipe.hdel(key, draft_id)
        pipe.execute()
