"""RQ jobs, enqueued by dotted path with primitive arguments (JSON serializer): parse, call, map."""

from __future__ import annotations

from spendgate_executor import wiring
from spendgate_executor.applying import apply_draft as apply_once


def apply_draft(draft_id: str, version: int) -> str:
    """Apply an approved draft (SPEC §8) and return the outcome (`applied`, `stale`, `retry_scheduled`, …).

    `version` is the draft version the job was enqueued for; it names the job, but the attempt works
    from the draft as it is now, so a job enqueued for an earlier version resumes a half-done apply.
    Idempotent: any number of copies of this job, on any number of workers, make one write per change.
    """
    return apply_once(wiring.current(), draft_id).value
