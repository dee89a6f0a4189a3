"""The periodic sweep: nothing approved is ever left behind, nothing pending outlives its expiry.

Each pass (every ~second, by whichever worker holds the sweep lock):

* moves due retries back onto the queue;
* re-enqueues in-flight drafts (`approved`, `applying`) that nobody is working on: no lease, no retry
  waiting, no live job — a crash between approve and enqueue, a worker killed mid-apply, a lost Redis
  write. This is what makes recovery take seconds instead of RQ's abandoned-job detection (minutes);
* expires pending and armed drafts past `expires_at` (ledger `expire`);
* disarms armed drafts whose arm windows all passed (back to pending, ledger `arm_expired`).

Re-enqueueing too much is harmless (leases and idempotency keys make a duplicate job a no-op);
re-enqueueing too little would lose an approval, so every doubt resolves towards enqueueing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import redis

from spendgate_core.adapters import locks
from spendgate_core.contracts.jobs import apply_job_id, draft_of_job
from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import IN_FLIGHT_STATUSES, Draft, DraftStatus
from spendgate_core.errors import Conflict, NotFound
from spendgate_core.runtime.periodic import PeriodicTask
from spendgate_core.usecases.commit import commit
from spendgate_core.usecases.deciding import lapse_arms
from spendgate_executor.deps import ACTOR, ExecutorDeps

log = logging.getLogger(__name__)

# Leave a just-approved draft to the approval service's own enqueue for this long.
APPROVE_GRACE = timedelta(seconds=2)


@dataclass
class SweepReport:
    retried: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    disarmed: list[str] = field(default_factory=list)


class Sweeper(PeriodicTask):
    def __init__(self, deps: ExecutorDeps, *, interval_seconds: float) -> None:
        super().__init__(name="spendgate-sweep", interval_seconds=interval_seconds, step=self.step)
        self._deps = deps
        self._lock_key = deps.keys.sweep_lock()
        self._lock_ms = int(max(5.0, interval_seconds * 5) * 1000)

    # scheduling -------------------------------------------------------------------------------------
    def tick(self) -> SweepReport | None:
        """One pass if this worker holds (or can take) the sweep lock; None when another worker sweeps."""
        deps = self._deps
        if not locks.acquire_or_renew(deps.redis, self._lock_key, deps.worker_id, ttl_ms=self._lock_ms):
            return None
        return self.run_once()

    def step(self) -> SweepReport | None:
        return self.tick()

    def stop(self, timeout: float | None = None) -> bool:
        ended = super().stop(timeout)
        # Hand the lock over at once rather than after it lapses.
        try:
            locks.release(self._deps.redis, self._lock_key, self._deps.worker_id)
        except redis.RedisError:
            log.warning("could not release the sweep lock; it lapses on its own")
        return ended

    # the pass ---------------------------------------------------------------------------------------
    def run_once(self, *, now: datetime | None = None) -> SweepReport:
        """One full pass (no lock: tests and `--burst` call it directly)."""
        now = now or self._deps.core.clock.now()
        report = SweepReport()
        self._drain_retries(now, report)
        in_flight = [
            draft_id
            for status in (DraftStatus.APPROVED, DraftStatus.APPLYING)
            for draft_id in self._deps.core.store.ids_with_status(status)
        ]
        queued = self._deps.jobs.queued_ids() if in_flight else set()
        # A job waiting in the queue applies its draft as the draft is then, whatever version it was
        # enqueued for: those drafts need no look. With a backlog of approvals this is most of them, and
        # looking cost four round trips each, every pass.
        waiting = {draft_of_job(job_id) for job_id in queued}
        for draft_id in in_flight:
            if draft_id not in report.retried and draft_id not in waiting:
                self._resume_if_orphaned(draft_id, now, queued, report)
        store = self._deps.core.store
        # Due drafts come from an index by expiry (oldest first), armed ones from their small status set.
        for draft_id in dict.fromkeys(
            [*store.ids_due_to_expire(now=now), *store.ids_with_status(DraftStatus.ARMED)]
        ):
            try:
                draft = store.get(draft_id)
            except NotFound:
                continue
            self._expire_or_disarm(draft, now, report)
        if report.retried or report.resumed or report.expired or report.disarmed:
            log.info("sweep: %s", report)
        return report

    def _drain_retries(self, now: datetime, report: SweepReport) -> None:
        due = self._deps.retries.due
        for taken in due.take(count_attempts=False, now=now):
            # Released before the job is queued: a job that starts at once must not find the draft still
            # scheduled (the take's lease) and defer itself. A sweep that dies in between leaves an
            # in-flight draft with no retry and no job, which the next pass re-enqueues as an orphan.
            due.release(taken)
            draft = self._in_flight(taken.item)
            if draft is not None:
                self._enqueue_fresh(draft)
                report.retried.append(taken.item)

    def _resume_if_orphaned(
        self, draft_id: str, now: datetime, queued: set[str], report: SweepReport
    ) -> None:
        deps = self._deps
        if deps.leases.held(draft_id) or deps.retries.scheduled_at(draft_id) is not None:
            return
        draft = self._in_flight(draft_id)
        if draft is None:
            return
        just_approved = draft.approved_at is not None and now - draft.approved_at < APPROVE_GRACE
        if draft.status is DraftStatus.APPROVED and just_approved:
            return
        grace = deps.lease_seconds
        candidates = [deps.retries.recorded_job(draft.id)]
        if draft.status is DraftStatus.APPROVED:
            candidates.append(apply_job_id(draft.id, draft.version))
        if any(
            job_id and deps.jobs.is_live(job_id, queued=queued, grace_seconds=grace) for job_id in candidates
        ):
            return
        if deps.leases.held(draft_id):
            return  # a job took the lease while we looked
        if draft.status is DraftStatus.APPROVED and deps.jobs.enqueue(
            draft.id, draft.version, job_id=apply_job_id(draft.id, draft.version)
        ):
            deps.retries.record_job(draft.id, apply_job_id(draft.id, draft.version))
        else:
            self._enqueue_fresh(draft)
        report.resumed.append(draft_id)

    def _enqueue_fresh(self, draft: Draft) -> None:
        """A job under a never-used id: the draft's earlier job ids may belong to dead jobs."""
        deps = self._deps
        job_id = f"{apply_job_id(draft.id, draft.version)}-r{deps.retries.next_job_seq(draft.id)}"
        deps.jobs.enqueue(draft.id, draft.version, job_id=job_id)
        deps.retries.record_job(draft.id, job_id)

    def _expire_or_disarm(self, draft: Draft, now: datetime, report: SweepReport) -> None:
        core = self._deps.core
        if now >= draft.expires_at:
            try:
                commit(
                    core,
                    draft,
                    lifecycle.expire(draft, now=now),
                    actor=ACTOR,
                    action="expire",
                    details={"expires_at": draft.expires_at.isoformat(), "was": draft.status.value},
                    event="draft.expired",
                )
            except Conflict:
                return  # a human decided (or another sweep acted) meanwhile: their change stands
            report.expired.append(draft.id)
        elif draft.status is DraftStatus.ARMED and lapse_arms(core, draft, actor=ACTOR, now=now):
            report.disarmed.append(draft.id)  # lapse_arms leaves a draft with a live arm alone

    def _in_flight(self, draft_id: str) -> Draft | None:
        try:
            draft = self._deps.core.store.get(draft_id)
        except NotFound:
            return None
        return draft if draft.status in IN_FLIGHT_STATUSES else None
