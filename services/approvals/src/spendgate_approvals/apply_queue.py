"""The RQ adapter of the core `ApplyQueue` port: enqueue an approved draft's apply job by dotted path."""

from __future__ import annotations

import contextlib

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer

from spendgate_core.contracts.jobs import APPLY_QUEUE, ApplyJob


class RqApplyQueue:
    """Enqueues the contract's `ApplyJob` for an approved draft version.

    No `Retry` here: the executor owns retries, and a job that already exists (queued, running or
    recently finished) means this approval is already on its way, so a duplicate is a no-op.
    """

    def __init__(self, connection: redis.Redis) -> None:
        self._queue = Queue(APPLY_QUEUE, connection=connection, serializer=JSONSerializer)

    def enqueue_apply(self, draft_id: str, version: int) -> None:
        job = ApplyJob(draft_id=draft_id, version=version)
        with contextlib.suppress(DuplicateJobError):
            self._queue.enqueue(job.function, *job.args, **job.options)
