"""The apply queue seen from the executor: enqueue by dotted path, JSON arguments, deterministic ids.

Ids: the approval service enqueues `apply_job_id(draft_id, version)`; the sweep re-uses that id when it
finds no job at all, and otherwise (a retry, or a job that died with its worker) enqueues
`<that id>-r<n>`, `n` counting per draft, because RQ refuses a `unique` id whose job hash still
exists — and a dead job's hash stays for its `failure_ttl`.
"""

from __future__ import annotations

import time

import redis
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.worker import Worker

from spendgate_core.contracts.jobs import APPLY_QUEUE, ApplyJob, apply_job_id

# Statuses of jobs that will run later without being in the queue list (we use none of them ourselves).
_WAITING = frozenset({JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.CREATED})


class ApplyJobs:
    """`ApplyQueue` for RQ, plus what the sweep needs to tell a live job from a dead one."""

    def __init__(self, connection: redis.Redis) -> None:
        self._r = connection
        self.queue = Queue(APPLY_QUEUE, connection=connection, serializer=JSONSerializer)

    def enqueue_apply(self, draft_id: str, version: int) -> None:
        """The approval path's enqueue; a second enqueue of the same version is a no-op."""
        self.enqueue(draft_id, version, job_id=apply_job_id(draft_id, version))

    def enqueue(self, draft_id: str, version: int, *, job_id: str) -> bool:
        """Enqueue the apply job under `job_id`; False when a job with that id already exists."""
        job = ApplyJob(draft_id=draft_id, version=version, job_id=job_id)
        try:
            self.queue.enqueue(job.function, *job.args, **job.options)
        except DuplicateJobError:
            return False
        return True

    def queued_ids(self) -> set[str]:
        """Ids waiting in the queue list right now (one LRANGE for a whole sweep pass)."""
        return {i.decode() if isinstance(i, bytes) else str(i) for i in self._r.lrange(self.queue.key, 0, -1)}

    def is_live(self, job_id: str, *, queued: set[str], grace_seconds: float) -> bool:
        """Whether the job will still run (it is in `queued`), or started less than `grace_seconds` ago.

        Its status alone would mislead: a worker killed between dequeue (BLMOVE into RQ's intermediate
        list) and starting the job leaves it `queued` yet nowhere to be dequeued. And a started job
        holds its draft's lease within milliseconds, so a started job older than the grace whose draft
        has no lease belongs to a dead worker (RQ itself notices only after its heartbeat TTL plus a
        maintenance pass, minutes later).
        """
        if job_id in queued:
            return True
        try:
            job = Job.fetch(job_id, connection=self._r, serializer=JSONSerializer)
        except NoSuchJobError:
            return False
        status = job.get_status(refresh=False)
        if status == JobStatus.QUEUED:  # enqueued after the snapshot, or dequeued by a worker since
            return self._r.lpos(self.queue.key, job_id) is not None
        if status in _WAITING:
            return True
        if status == JobStatus.STARTED and job.started_at is not None:
            # RQ stamps jobs with the wall clock, not ours: compare like with like.
            return time.time() - job.started_at.timestamp() < grace_seconds
        return False

    def depth(self) -> int:
        """Jobs waiting in the queue: LLEN only, never a registry cleanup (which would mutate state)."""
        return int(self.queue.count)

    def oldest_age_seconds(self) -> float:
        """How long the job at the head of the queue has waited (0 when the queue is empty)."""
        head = self._r.lindex(self.queue.key, 0)
        if head is None:
            return 0.0
        try:
            job = Job.fetch(
                head.decode() if isinstance(head, bytes) else str(head),
                connection=self._r,
                serializer=JSONSerializer,
            )
        except NoSuchJobError:
            return 0.0
        if job.enqueued_at is None:
            return 0.0
        return max(0.0, time.time() - job.enqueued_at.timestamp())

    def workers_alive(self) -> int:
        """Workers registered on the apply queue (RQ expires a worker's key when its heartbeat stops)."""
        return int(Worker.count(connection=self._r, queue=self.queue))
