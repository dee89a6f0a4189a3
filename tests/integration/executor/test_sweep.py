"""The sweep: orphaned approvals are re-enqueued, lapsed applies resumed, old drafts expired, arms dropped."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import redis

from spendgate_core.domain import lifecycle
from spendgate_core.domain.models import DraftStatus
from spendgate_core.runtime.settings import load_settings
from spendgate_core.usecases import deciding as approval
from spendgate_executor import wiring
from spendgate_executor.jobqueue import ApplyJobs
from spendgate_executor.retries import RetrySchedule
from spendgate_executor.settings import ExecutorSettings
from spendgate_executor.sweep import Sweeper
from tests.integration.executor.harness import Harness, LostEnqueue


def _sweeper(harness: Harness) -> Sweeper:
    return Sweeper(harness.executor, interval_seconds=1)


def test_an_approved_draft_whose_enqueue_was_lost_is_enqueued_and_applied(harness: Harness) -> None:
    draft = harness.approve(harness.propose_change("cmp_us_001", delta=1000), queue=LostEnqueue())
    assert harness.work() is False  # nothing was queued

    early = _sweeper(harness).run_once()
    assert early.resumed == []  # just approved: the approval's own enqueue may still be on its way
    report = _sweeper(harness).run_once(now=harness.clock.now() + timedelta(seconds=5))
    assert report.resumed == [draft.id]
    again = _sweeper(harness).run_once(now=harness.clock.now() + timedelta(seconds=5))
    assert again.resumed == []  # its job is queued now: no second copy

    harness.work()
    assert harness.get(draft.id).status is DraftStatus.APPLIED
    assert len(harness.api_writes()) == 1


def test_an_apply_whose_worker_died_is_resumed_once_its_lease_lapses(harness: Harness) -> None:
    draft = harness.approve(harness.propose_change("cmp_us_003", delta=1000), queue=LostEnqueue())
    deps = harness.executor
    # A worker took the lease, moved the draft to applying, wrote upstream... and was SIGKILLed.
    lease = deps.leases.acquire(draft.id)
    assert lease is not None
    deps.core.store.save(lifecycle.begin_apply(draft), expected_version=draft.version)
    later = harness.clock.now() + timedelta(seconds=5)

    assert _sweeper(harness).run_once(now=later).resumed == []  # the lease is still held
    deps.redis.delete(deps.leases.key(draft.id))  # ...until it lapses
    assert _sweeper(harness).run_once(now=later).resumed == [draft.id]

    harness.work()
    assert harness.get(draft.id).status is DraftStatus.APPLIED
    assert len(harness.api_writes()) == 1


def test_a_job_that_died_mid_attempt_does_not_block_its_draft(harness: Harness) -> None:
    draft = harness.approve(harness.propose_change("cmp_us_005", delta=1000))
    job = harness.queue.queue.fetch_job(f"apply-{draft.id}-v{draft.version}")
    assert job is not None
    # The job is taken (RQ marks it started) and its worker dies before the job takes the lease.
    harness.queue.queue.remove(job)
    job.set_status("started")
    job.started_at = harness.clock.now() - timedelta(minutes=5)
    job.save()

    report = _sweeper(harness).run_once(now=harness.clock.now() + timedelta(seconds=5))
    assert report.resumed == [draft.id]
    harness.work()
    assert harness.get(draft.id).status is DraftStatus.APPLIED


def test_pending_drafts_past_their_expiry_are_expired(harness: Harness) -> None:
    old = harness.propose_change("cmp_us_006", delta=1000)
    harness.clock.advance(hours=47)
    young = harness.propose_change("cmp_us_007", delta=1000)
    harness.clock.advance(hours=1, seconds=1)

    report = _sweeper(harness).run_once()

    assert report.expired == [old.id]
    assert harness.get(old.id).status is DraftStatus.EXPIRED
    assert harness.get(young.id).status is DraftStatus.PENDING
    entries = harness.core.ledger.latest(account_id=old.account_id, limit=10)
    assert any(e.action == "expire" and e.draft_id == old.id for e in entries)


def test_armed_drafts_whose_window_passed_are_disarmed(harness: Harness) -> None:
    draft = harness.propose_change("cmp_us_008", delta=500)
    approval.arm(
        deps=harness.core, principal=harness.alice, draft_id=draft.id, if_match='"1"', channel="rest"
    )
    assert harness.get(draft.id).status is DraftStatus.ARMED

    assert _sweeper(harness).run_once().disarmed == []
    harness.clock.advance(seconds=121)
    assert _sweeper(harness).run_once().disarmed == [draft.id]
    assert harness.get(draft.id).status is DraftStatus.PENDING


def test_only_one_worker_sweeps_at_a_time(harness: Harness) -> None:
    first = _sweeper(harness)
    other_deps = wiring.build(load_settings(ExecutorSettings))  # a second worker process
    other = Sweeper(other_deps, interval_seconds=1)
    try:
        assert first.tick() is not None
        assert other.tick() is None  # the lock is held by the first worker
        assert first.tick() is not None  # ...which keeps it
        first.stop()
        assert other.tick() is not None  # a stopped sweeper hands the lock over at once
    finally:
        other.stop()
        wiring.close(other_deps)


def test_a_job_dequeued_by_a_worker_that_died_before_starting_it_does_not_block_its_draft(
    harness: Harness,
) -> None:
    draft = harness.approve(harness.propose_change("cmp_us_009", delta=1000))
    queue = harness.queue.queue
    job_id = f"apply-{draft.id}-v{draft.version}"
    # RQ's dequeue moves the id into its intermediate list; the job stays `queued` until started.
    harness.redis.lmove(queue.key, queue.intermediate_queue_key, "LEFT", "RIGHT")
    assert queue.fetch_job(job_id).get_status() == "queued"  # type: ignore[union-attr]

    report = _sweeper(harness).run_once(now=harness.clock.now() + timedelta(seconds=5))

    assert report.resumed == [draft.id]
    harness.work()
    assert harness.get(draft.id).status is DraftStatus.APPLIED
    assert len(harness.api_writes()) == 1


def test_a_backlog_of_queued_approvals_costs_the_sweep_no_per_draft_lookups(harness: Harness) -> None:
    """Drafts whose job waits in the queue are applied by it as they are then, whatever version the job
    was enqueued for: the sweep leaves them alone without looking (a pass used to cost four round trips
    per in-flight draft, every second, through any backlog)."""
    drafts = [harness.approve(harness.propose_change(f"cmp_us_{n:03d}", delta=1000)) for n in range(1, 11)]
    deps = harness.executor
    # One of them moved on to `applying` (its job, enqueued for the approved version, is still queued).
    deps.core.store.save(lifecycle.begin_apply(drafts[0]), expected_version=drafts[0].version)
    later = harness.clock.now() + timedelta(seconds=5)
    before = int(deps.redis.info("stats")["total_commands_processed"])
    report = _sweeper(harness).run_once(now=later)
    spent = int(deps.redis.info("stats")["total_commands_processed"]) - before
    assert report.resumed == [] and report.retried == []
    assert spent < 12, f"{spent} Redis commands for one pass over 10 queued drafts"
    harness.work()
    assert all(harness.get(d.id).status is DraftStatus.APPLIED for d in drafts)


class WatchedJobs(ApplyJobs):
    """The real apply queue, noting whether the draft was still scheduled when its job was queued."""

    def __init__(self, connection: redis.Redis, retries: RetrySchedule) -> None:
        super().__init__(connection)
        self.retries = retries
        self.scheduled_when_queued: list[bool] = []

    def enqueue(self, draft_id: str, version: int, *, job_id: str) -> bool:
        self.scheduled_when_queued.append(self.retries.scheduled_at(draft_id) is not None)
        return super().enqueue(draft_id, version, job_id=job_id)


def test_a_due_retry_is_handed_over_before_its_job_is_queued(harness: Harness) -> None:
    # A worker may start the job the moment it is queued; if the draft still looked scheduled then
    # (the take's lease), the job would defer to a retry that never comes.
    draft = harness.approve(harness.propose_change("cmp_us_001", delta=1000), queue=LostEnqueue())
    deps = harness.executor
    jobs = WatchedJobs(deps.redis, deps.retries)
    deps.retries.schedule(draft.id, at=harness.clock.now())
    report = Sweeper(dataclasses.replace(deps, jobs=jobs), interval_seconds=1).run_once()
    assert report.retried == [draft.id]
    assert jobs.scheduled_when_queued == [False]
    harness.work()
    assert harness.get(draft.id).status is DraftStatus.APPLIED
