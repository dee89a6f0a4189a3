"""The queue contract between the approval service and the executor: strings and integers only.

The approval service enqueues by dotted path, so it never imports the executor; the job id is
deterministic per draft version, so a retried enqueue of the same approval is one job.
"""

from __future__ import annotations

from typing import Protocol

APPLY_QUEUE = "spendgate-apply"
EVENTS_QUEUE = "spendgate-events"
APPLY_JOB = "spendgate_executor.jobs.apply_draft"


def apply_job_id(draft_id: str, version: int) -> str:
    return f"apply-{draft_id}-v{version}"  # RQ job ids allow only [A-Za-z0-9_-]


def draft_of_job(job_id: str) -> str | None:
    """The draft an apply job is for, from its id (`apply_job_id`, with or without a retry suffix)."""
    kind, _, rest = job_id.partition("-")
    draft_id = rest.partition("-")[0]
    return draft_id if kind == "apply" and draft_id else None


class ApplyQueue(Protocol):
    def enqueue_apply(self, draft_id: str, version: int) -> None:
        """Enqueue the apply job for an approved draft; enqueuing the same version twice is a no-op."""
        ...
