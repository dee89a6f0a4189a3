"""RQ jobs, enqueued by dotted path with primitive arguments (JSON serializer): parse, call, map.

Each job's first argument is the executor's dependencies, which the worker (`worker.ExecutorJob`) passes
in from its own wiring; the queue carries only the arguments after it. A job run by any other worker
fails rather than build a second set of clients from the environment.
"""

from __future__ import annotations

from spendgate_executor.applying import apply_draft as apply_once
from spendgate_executor.deps import ExecutorDeps
from spendgate_executor.events.delivery import deliver


def apply_draft(deps: ExecutorDeps, draft_id: str, version: int) -> str:
    """Apply an approved draft (README, "Reliability"); the outcome: `applied`, `stale`, `retry_scheduled`, ….

    `version` is the draft version the job was enqueued for; it names the job, but the attempt works
    from the draft as it is now, so a job enqueued for an earlier version resumes a half-done apply.
    Idempotent: any number of copies of this job, on any number of workers, make one write per change.
    """
    return apply_once(deps, draft_id).value


def deliver_event(deps: ExecutorDeps, event_id: str, url: str, attempt: int, lease_ms: int) -> str:
    """Attempt `attempt` of delivering an outbound event to one subscriber, under the due set's lease
    `lease_ms` (see `spendgate_executor.events`): `delivered`, `retrying`, `failed` or `noop`."""
    return deliver(deps.delivery, event_id=event_id, url=url, attempt=attempt, lease_ms=lease_ms)
