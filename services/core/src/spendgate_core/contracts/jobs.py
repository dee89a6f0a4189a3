"""The queue contract between the approval service and the executor: strings and integers only.

The approval service enqueues by dotted path, so it never imports the executor; the job id is
deterministic per draft version, so a retried enqueue of the same approval is one job. `ApplyJob` is the
one definition of the apply job (function, arguments, id and RQ options) that every enqueuer sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Protocol

APPLY_QUEUE = "spendgate-apply"
EVENTS_QUEUE = "spendgate-events"
APPLY_JOB = "spendgate_executor.jobs.apply_draft"


JOB_TIMEOUT = timedelta(minutes=2)  # a job is a few upstream calls, each with a 10 s timeout
RESULT_TTL = timedelta(hours=1)
FAILURE_TTL = timedelta(days=7)


def apply_job_id(draft_id: str, version: int) -> str:
    return f"apply-{draft_id}-v{version}"  # RQ job ids allow only [A-Za-z0-9_-]


def draft_of_job(job_id: str) -> str | None:
    """The draft an apply job is for, from its id (`apply_job_id`, with or without a retry suffix)."""
    kind, _, rest = job_id.partition("-")
    draft_id = rest.partition("-")[0]
    return draft_id if kind == "apply" and draft_id else None


@dataclass(frozen=True)
class ApplyJob:
    """The apply job of one approved draft version: RQ calls `function(*args)` (the worker adds its
    dependencies in front); `options` are the keyword arguments of `rq.Queue.enqueue`, the same from the
    approval service and from the executor's sweep. `job_id` defaults to `apply_job_id`; the sweep
    gives a suffixed id for a retry."""

    function: ClassVar[str] = APPLY_JOB
    draft_id: str
    version: int
    job_id: str = ""

    @property
    def id(self) -> str:
        return self.job_id or apply_job_id(self.draft_id, self.version)

    @property
    def args(self) -> tuple[str, int]:
        return (self.draft_id, self.version)

    @property
    def options(self) -> dict[str, str | int | bool]:
        return {
            "job_id": self.id,
            "unique": True,  # a job that exists already (queued, running, kept) is this approval's
            "job_timeout": int(JOB_TIMEOUT.total_seconds()),
            "result_ttl": int(RESULT_TTL.total_seconds()),
            "failure_ttl": int(FAILURE_TTL.total_seconds()),
            "description": f"apply {self.draft_id} v{self.version}",
        }


class ApplyQueue(Protocol):
    def enqueue_apply(self, draft_id: str, version: int) -> None:
        """Enqueue the apply job for an approved draft; enqueuing the same version twice is a no-op."""
        ...
