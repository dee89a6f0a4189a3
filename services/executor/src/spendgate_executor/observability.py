"""The worker's HTTP side: Prometheus `/metrics` (with gauges computed at scrape time) and `/healthz`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import redis
from prometheus_client import REGISTRY, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from spendgate_core.contracts.jobs import APPLY_QUEUE
from spendgate_core.errors import SpendgateError
from spendgate_core.metrics import (
    CIRCUIT_OPEN,
    ENVELOPE_USED_RATIO,
    QUEUE_DEPTH,
    QUEUE_OLDEST_JOB_AGE,
    WORKERS_ALIVE,
)
from spendgate_executor.deps import ExecutorDeps

log = logging.getLogger(__name__)

RETRY_QUEUE = f"{APPLY_QUEUE}-retry"  # label for drafts waiting in the retry schedule


class ScrapeTimeGauges:
    """Everything in `source`, after refreshing the gauges whose truth lives in Redis.

    The queue depth and the circuits are shared state: every worker reports the same values, read at
    scrape time. Counts never trigger RQ's registry cleanup (`cleanup=True` would mutate state).
    The gauges themselves are core's, so the metric names stay defined in one place.
    """

    def __init__(self, deps: ExecutorDeps, *, source: Collector = REGISTRY) -> None:
        self._deps = deps
        self._source = source

    def refresh(self) -> None:
        deps = self._deps
        QUEUE_DEPTH.labels(APPLY_QUEUE).set(deps.jobs.depth())
        QUEUE_DEPTH.labels(RETRY_QUEUE).set(deps.retries.depth())
        QUEUE_OLDEST_JOB_AGE.labels(APPLY_QUEUE).set(deps.jobs.oldest_age_seconds())
        WORKERS_ALIVE.set(deps.jobs.workers_alive())
        self._refresh_envelopes()
        for account in deps.breaker.accounts():
            CIRCUIT_OPEN.labels(account).set(1 if deps.breaker.is_open(account) else 0)

    def _refresh_envelopes(self) -> None:
        """Envelope use per account; the catalog caches the account list, so a scrape costs Redis only."""
        core = self._deps.core
        now = core.clock.now()
        try:
            accounts = core.catalog.all()
        except SpendgateError:
            return  # the platform is unreachable: keep the last values rather than fail the scrape
        for account in accounts:
            cap = core.limits(account.id, account.currency).envelope_24h
            used = core.store.envelope_used(account.id, now=now)
            ENVELOPE_USED_RATIO.labels(account.id).set(used / cap if cap else 0.0)
            CIRCUIT_OPEN.labels(account.id).set(1 if self._deps.breaker.is_open(account.id) else 0)

    def collect(self) -> Iterable[Metric]:
        try:
            self.refresh()
        except redis.RedisError:
            log.warning("Redis unreachable at scrape time; queue and circuit gauges keep their last values")
        return self._source.collect()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would drown the worker's log."""


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterator[bytes] | list[bytes]]


def http_app(collector: Collector) -> WsgiApp:
    metrics = make_wsgi_app(collector)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes] | list[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"ok": true}']
        result: list[bytes] = metrics(environ, start_response)
        return result

    return app


def serve_metrics(collector: Collector, *, host: str, port: int) -> WSGIServer:
    """Serve `/metrics` and `/healthz` from a daemon thread; `shutdown()` the returned server to stop."""
    server = make_server(host, port, http_app(collector), ThreadingWSGIServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="spendgate-metrics", daemon=True).start()
    return server
