"""The relay: the `webhooks` consumer of the event stream, turning events into deliveries, and the
worker's periodic task that also enqueues due deliveries and reconciles lost events."""

from __future__ import annotations

import time

import redis

from spendgate_core.adapters import events
from spendgate_core.adapters.keys import Keys
from spendgate_core.contracts.events import OUTBOUND_TYPES
from spendgate_core.runtime.periodic import PeriodicTask
from spendgate_core.usecases.deps import CoreDeps
from spendgate_executor.events.deliveries import Deliveries

GROUP = "webhooks"


def relay_events(
    client: redis.Redis,
    deliveries: Deliveries,
    *,
    subscribers: tuple[str, ...],
    consumer: str,
    keys: Keys,
    count: int = 100,
    claim_idle_ms: int = 60_000,
) -> int:
    """Turn new outbound events into deliveries (one per subscriber), then acknowledge them; how many
    deliveries were registered. Safe to run on every worker at once (a consumer group shares the work)."""
    events.ensure_group(client, GROUP, keys=keys)
    taken = events.claim_stale(
        client, group=GROUP, consumer=consumer, min_idle_ms=claim_idle_ms, count=count, keys=keys
    )
    taken += events.read_new(client, group=GROUP, consumer=consumer, count=count, block_ms=None, keys=keys)
    registered = 0
    for stream_id, event in taken:
        if event is not None and event.type in OUTBOUND_TYPES and subscribers:
            registered += deliveries.register(event, subscribers)
        events.ack(client, group=GROUP, stream_ids=[stream_id], keys=keys)
    return registered


class EventRelay(PeriodicTask):
    """The worker's background task: relay new events, enqueue due deliveries, reconcile lost events."""

    def __init__(
        self,
        *,
        redis: redis.Redis,
        core: CoreDeps,
        keys: Keys,
        deliveries: Deliveries,
        subscribers: tuple[str, ...],
        consumer: str,
        interval_seconds: float = 1.0,
        reconcile_seconds: float = 30.0,
    ) -> None:
        super().__init__(name="spendgate-events", interval_seconds=interval_seconds, step=self.step)
        self.redis = redis
        self.core = core
        self.keys = keys
        self.deliveries = deliveries
        self.subscribers = subscribers
        self.consumer = consumer
        self.reconcile_seconds = reconcile_seconds
        self._last_reconcile = float("-inf")

    def step(self) -> None:
        """One pass; every step is safe on several workers at once."""
        if self.subscribers:
            relay_events(
                self.redis,
                self.deliveries,
                subscribers=self.subscribers,
                consumer=self.consumer,
                keys=self.keys,
            )
        self.deliveries.enqueue_due()
        if time.monotonic() - self._last_reconcile >= self.reconcile_seconds:
            self._last_reconcile = time.monotonic()
            self.reconcile()

    def reconcile(self) -> None:
        """Publish events lost between a state change and its announcement; one worker per period (the
        lock simply lapses)."""
        lock_ms = max(1, int(self.reconcile_seconds * 1000 * 0.9))
        if self.redis.set(self.keys.reconcile_lock(), self.consumer, nx=True, px=lock_ms):
            events.reconcile(
                store=self.core.store,
                client=self.redis,
                now=self.core.clock.now(),
                url_for=self.core.draft_url,
                keys=self.keys,
            )
