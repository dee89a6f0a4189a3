"""The pending deliveries: one item per (event, subscriber) in the due set, and each event's payload.

A delivery is registered once (a re-read event registers nothing), taken by one worker when due and
handed to an RQ job that carries the take's attempt and lease; a job lost with its worker is enqueued
again once the lease passes, as the next attempt.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer

from spendgate_core.adapters import events
from spendgate_core.adapters.duework import DueSet, Taken
from spendgate_core.adapters.keys import Keys
from spendgate_core.contracts.jobs import EVENTS_QUEUE
from spendgate_core.domain.clock import Clock
from spendgate_executor.events.config import EventConfig
from spendgate_executor.events.log import record_attempt

DELIVER_JOB = "spendgate_executor.jobs.deliver_event"
BODY_TTL = timedelta(days=3)  # far beyond the retry budget
DELIVERY_TTL = timedelta(days=7)  # a delivery registered within this long is not registered again


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def member(event_id: str, url: str) -> str:
    return f"{event_id} {url}"  # URLs hold no spaces (checked in event_config)


class Deliveries:
    """Outbound deliveries waiting in Redis, shared by every worker."""

    def __init__(self, client: redis.Redis, *, config: EventConfig, clock: Clock, keys: Keys) -> None:
        self._r = client
        self._clock = clock
        self.keys = keys
        self.due = DueSet(
            client,
            key=keys.deliveries_due(),
            clock=clock,
            lease_seconds=config.lease_seconds,
            backoff=config.backoff,
            max_attempts=config.max_attempts,
        )

    def register(self, event: events.StreamEvent, subscribers: tuple[str, ...]) -> int:
        """Keep the event's payload and make one delivery per subscriber due now; how many were new."""
        self._r.set(self.keys.event_body(event.id), event.payload, ex=BODY_TTL, nx=True)
        return sum(self.due.add(member(event.id, url), once_for=DELIVERY_TTL) for url in subscribers)

    def body(self, event_id: str) -> str | None:
        raw = self._r.get(self.keys.event_body(event_id))
        return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)

    def enqueue_due(self, *, limit: int = 200) -> int:
        """Enqueue a delivery job for every delivery that is due; how many were enqueued."""
        queue = Queue(EVENTS_QUEUE, connection=self._r, serializer=JSONSerializer)
        enqueued = 0
        for taken in self.due.take(limit=limit):
            event_id, url = taken.item.split(" ", 1)
            if taken.exhausted:
                self._lost_last_attempt(taken, event_id, url)
                continue
            try:
                queue.enqueue(
                    DELIVER_JOB,
                    event_id,
                    url,
                    taken.attempt,
                    taken.lease_ms,
                    job_id=f"deliver-{event_id}-{url_hash(url)}-a{taken.attempt}",
                    unique=True,
                    job_timeout=60,
                    result_ttl=86400,
                    failure_ttl=7 * 86400,
                    description=f"deliver {event_id} to {events.display_url(url)} (attempt {taken.attempt})",
                )
            except DuplicateJobError:
                continue  # this attempt's job is queued already; it settles the delivery
            enqueued += 1
        return enqueued

    def _lost_last_attempt(self, taken: Taken, event_id: str, url: str) -> None:
        record_attempt(
            self._r,
            keys=self.keys,
            event_id=event_id,
            url=url,
            attempt=taken.attempt - 1,
            payload=self.body(event_id),
            outcome="failed",
            at=self._clock.now(),
            error="the worker stopped during the last attempt",
        )
