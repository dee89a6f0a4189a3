"""Everything an apply needs, built once per worker process by `wiring` and passed down."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import redis

from spendgate_core.adapters.circuit import CircuitBreaker
from spendgate_core.adapters.duework import Backoff
from spendgate_core.adapters.keys import Keys
from spendgate_core.usecases.deps import CoreDeps
from spendgate_core.usecases.platform_writer import PlatformWriter
from spendgate_executor.events.delivery import DeliveryDeps
from spendgate_executor.jobqueue import ApplyJobs
from spendgate_executor.leases import Leases
from spendgate_executor.retries import RetrySchedule

ACTOR = "spendgate-executor"  # how the executor appears in the ledger


@dataclass(frozen=True)
class ExecutorDeps:
    core: CoreDeps
    keys: Keys  # the key names every adapter of this worker uses (`SPENDGATE_REDIS_NAMESPACE`)
    writer: PlatformWriter
    redis: redis.Redis
    http_clients: tuple[httpx.Client, ...]
    jobs: ApplyJobs
    leases: Leases
    retries: RetrySchedule
    backoff: Backoff
    breaker: CircuitBreaker
    max_attempts: int
    lease_seconds: float
    worker_id: str
    delivery: DeliveryDeps  # outbound event deliveries
