"""Wiring: build the executor's dependencies from settings, and close them.

Nothing here runs at import and nothing is kept here: the worker entrypoint builds one set, hands it to
its RQ worker (which passes it to every job) and to its background tasks, and closes it on the way out.
"""

from __future__ import annotations

import os
import secrets
import socket

import httpx

from spendgate_core.adapters.circuit import CircuitBreaker
from spendgate_core.adapters.duework import Backoff
from spendgate_core.adapters.platforms.adsim import AdsimReader, adsim_client
from spendgate_core.domain.clock import Clock
from spendgate_core.runtime.bootstrap import build_core, redis_client, redis_keys
from spendgate_core.runtime.settings import load_settings
from spendgate_executor.deps import ExecutorDeps
from spendgate_executor.events.config import EventConfig, EventSettings, event_config
from spendgate_executor.events.deliveries import Deliveries
from spendgate_executor.events.delivery import DeliveryDeps
from spendgate_executor.jobqueue import ApplyJobs
from spendgate_executor.leases import Leases
from spendgate_executor.retries import RetrySchedule
from spendgate_executor.settings import ExecutorSettings
from spendgate_executor.writer import AdsimWriter


def build(
    settings: ExecutorSettings, *, clock: Clock | None = None, events: EventConfig | None = None
) -> ExecutorDeps:
    """Real adapters from settings (`events`: the outbound-event configuration, else from the environment).
    The executor reads with the write token (adsim accepts it for reads)."""
    events = events or event_config(load_settings(EventSettings))
    keys = redis_keys(settings)
    client = redis_client(settings)
    token = settings.adsim_write_token.get_secret_value()
    reads, writes = adsim_client(settings.adsim_url, token), adsim_client(settings.adsim_url, token)
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
    core = build_core(settings, client=client, keys=keys, reader=AdsimReader(reads), clock=clock)
    return ExecutorDeps(
        core=core,
        keys=keys,
        writer=AdsimWriter(writes),
        redis=client,
        http_clients=(reads, writes),
        jobs=ApplyJobs(client),
        leases=Leases(client, owner=worker_id, ttl_seconds=settings.apply_lease_seconds, keys=keys),
        retries=RetrySchedule(client, clock=core.clock, keys=keys),
        backoff=Backoff(base_seconds=settings.retry_base_seconds, max_seconds=settings.retry_max_seconds),
        breaker=CircuitBreaker(
            client,
            failure_threshold=settings.circuit_failure_threshold,
            cooldown_seconds=settings.circuit_cooldown_seconds,
            probe_seconds=settings.apply_lease_seconds * 2,
            keys=keys,
        ),
        max_attempts=settings.retry_max_attempts,
        lease_seconds=settings.apply_lease_seconds,
        worker_id=worker_id,
        delivery=DeliveryDeps(
            redis=client,
            config=events,
            deliveries=Deliveries(client, config=events, clock=core.clock, keys=keys),
            http=httpx.Client(timeout=events.timeout_seconds),
            clock=core.clock,
        ),
    )


def close(deps: ExecutorDeps) -> None:
    """Close the clients `build` opened."""
    for http in (*deps.http_clients, deps.delivery.http):
        http.close()
    deps.redis.close()
