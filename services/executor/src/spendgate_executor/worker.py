"""The worker entrypoint: settings, wiring, the sweep thread, /metrics, an RQ worker on the apply queue."""

from __future__ import annotations

import logging
import sys
from typing import Any

from rq import Queue, SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.serializers import JSONSerializer

from spendgate_core.contracts.jobs import EVENTS_QUEUE
from spendgate_core.errors import ConfigError
from spendgate_core.logs import configure_logging
from spendgate_core.metrics import prime as prime_metrics
from spendgate_core.runtime.bootstrap import redis_client
from spendgate_core.runtime.settings import load_settings
from spendgate_core.runtime.tuning import settle_after_startup
from spendgate_executor import wiring
from spendgate_executor.deps import ExecutorDeps
from spendgate_executor.events.config import EventSettings, event_config
from spendgate_executor.events.relay import EventRelay
from spendgate_executor.jobqueue import ApplyJobs
from spendgate_executor.observability import ScrapeTimeGauges, serve_metrics
from spendgate_executor.settings import ExecutorSettings
from spendgate_executor.sweep import Sweeper

log = logging.getLogger(__name__)


class ExecutorJob(Job):
    """A spendgate job: its function receives the running worker's dependencies as its first argument.

    `deps` is set in memory by `ExecutorWorker` just before the job runs; it is never saved with the job,
    so the queue still carries only primitive arguments.
    """

    deps: ExecutorDeps | None = None

    def _execute(self) -> Any:
        if self.deps is None:
            raise RuntimeError(f"job {self.id} needs spendgate's worker (`spendgate worker`) to run")
        if self.func is None:
            raise ValueError(f"job {self.id} has no function")
        return self.func(self.deps, *self.args, **self.kwargs)


class ExecutorWorker(SimpleWorker):
    """An RQ `SimpleWorker`: jobs run in the worker process, no fork per job.

    Chosen on purpose: without a fork per job it serves several times the jobs of RQ's `Worker` at a
    fraction of the latency (bench/ compares them), and it keeps one warm HTTP connection pool and Redis
    pool per process instead of rebuilding them in every horse. What a
    fork would buy us — surviving a crash or leak inside a job — is not what keeps approvals safe: our
    crash safety comes from per-draft leases, the sweep and idempotency keys, which hold just as well
    when the whole worker dies (SIGKILL, OOM) as when one job does. Our job code is our own and
    bounded by HTTP timeouts; SIGALRM still enforces the job timeout.

    Metrics are ordinary in-process counters, so no Prometheus multiprocess mode is needed.
    On SIGTERM RQ finishes the current job and exits (warm shutdown); a second SIGTERM aborts the job,
    whose lease then lapses and the sweep hands the draft to another worker.
    """

    def __init__(self, queues: list[Queue], *, deps: ExecutorDeps, **options: Any) -> None:
        super().__init__(queues, job_class=ExecutorJob, **options)
        self.deps = deps

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        if isinstance(job, ExecutorJob):
            job.deps = self.deps
        return bool(super().perform_job(job, queue, execution))


def run(*, burst: bool, metrics_port: int) -> None:
    """Run one worker until SIGTERM (or, with `burst`, until the queue is empty). Port 0: no HTTP server."""
    configure_logging("executor")
    try:
        settings = load_settings(ExecutorSettings)
        events_config = event_config(load_settings(EventSettings))
        prime_metrics(platform=settings.platform)
    except ConfigError as exc:
        sys.stderr.write(f"spendgate worker: {exc.message}\n")
        raise SystemExit(2) from None
    deps = wiring.build(settings, events=events_config)
    # RQ stretches its connection's socket timeout to its blocking dequeue (minutes): give it its own
    # client, so the draft store and leases keep their short timeouts.
    rq_connection = redis_client(settings)
    worker = ExecutorWorker(
        # Apply jobs first; outbound event deliveries share the worker (see spendgate_executor.events).
        [
            ApplyJobs(rq_connection).queue,
            Queue(EVENTS_QUEUE, connection=rq_connection, serializer=JSONSerializer),
        ],
        connection=rq_connection,
        serializer=JSONSerializer,
        name=f"spendgate-executor-{deps.worker_id.replace(':', '-')}",
        deps=deps,
    )
    metrics = None
    if metrics_port:
        metrics = serve_metrics(ScrapeTimeGauges(deps), host=settings.metrics_host, port=metrics_port)
    sweeper = Sweeper(deps, interval_seconds=settings.sweep_interval_seconds)
    relay = EventRelay(
        redis=deps.redis,
        core=deps.core,
        keys=deps.keys,
        deliveries=deps.delivery.deliveries,
        subscribers=events_config.subscribers,
        consumer=deps.worker_id,
    )
    settle_after_startup()
    try:
        if burst:
            # Pick up orphans and due retries first; retries due later stay for a long-running worker.
            sweeper.tick()
            relay.step()
        else:
            sweeper.start()
            relay.start()
        worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
    finally:
        relay.stop()
        sweeper.stop()
        if metrics is not None:
            metrics.shutdown()
        rq_connection.close()
        wiring.close(deps)
    log.info("worker %s stopped", worker.name)
