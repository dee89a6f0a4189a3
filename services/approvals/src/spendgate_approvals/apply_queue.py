"""The RQ adapter of the core `ApplyQueue` port: enqueue an approved draft's apply job by dotted path."""

from __future__ import annotations

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer

from spendgate_core.contracts.jobs import APPLY_JOB, APPLY_QUEUE, apply_job_id


class RqApplyQueue:
    """Enqueues `APPLY_JOB(draft_id, version)` with a deterministic, unique job id.

    No `Retry` here: the executor owns retries, and a job that already exists (queued, running or
    recently finished) means this approval is already on its way, so a duplicate is a no-op.
    """

    def __init__(self, connection: redis.Redis) -> None:
        self._queue = Queue(APPLY_QUEUE, connection=connection, serializer=JSONSerializer)

    def enqueue_apply(self, draft_id: str, version: int) -> None:
        try:
            self._queue.enqueue_call(
                APPLY_JOB, args=(draft_id, version), job_id=apply_job_id(draft_id, version), unique=True
            )
        except DuplicateJobError:
            return
