"""The apply path (SPEC §8): exactly one write per change, stale protection, retries, permanent failures."""

from __future__ import annotations

import threading

import httpx
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from spendgate_core.adapters.ledger import RedisLedger
from spendgate_core.contracts.jobs import APPLY_JOB, apply_job_id
from spendgate_core.domain.models import CampaignStatus, DraftStatus
from spendgate_executor.applying import Outcome, apply_draft
from tests.integration.executor.harness import Harness
from tests.support import drafting
from tests.support.stack import ADSIM_WRITE_TOKEN, US


def _actions(harness: Harness, draft_id: str) -> list[str]:
    ledger = harness.core.ledger
    assert isinstance(ledger, RedisLedger)
    return [e.action for e in reversed(ledger.latest(account_id=US, limit=200)) if e.draft_id == draft_id]


def test_an_approved_draft_is_applied_with_exactly_one_write(harness: Harness) -> None:
    before = harness.budget("cmp_us_001")
    draft = harness.approve(harness.propose_change("cmp_us_001", delta=5000))

    assert harness.work() is True

    done = harness.get(draft.id)
    assert done.status is DraftStatus.APPLIED
    assert done.applied_changes == (0,)
    assert done.applied_at is not None
    assert harness.budget("cmp_us_001") == before + 5000
    writes = harness.api_writes()
    assert len(writes) == 1
    assert writes[0] | {"ts": None} == {
        "account": US,
        "campaign": "cmp_us_001",
        "field": "daily_budget",
        "old": before,
        "new": before + 5000,
        "idempotency_key": f"{draft.id}:0",
        "ts": None,
        "source": "api",
    }
    assert _actions(harness, draft.id)[-1] == "apply"
    job = Job.fetch(
        apply_job_id(draft.id, draft.version), connection=harness.redis, serializer=JSONSerializer
    )
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "applied"


def test_the_same_job_five_times_makes_one_write(harness: Harness) -> None:
    draft = harness.approve(harness.propose_change("cmp_us_003", delta=1000))
    harness.queue.enqueue_apply(draft.id, draft.version)  # a retried confirm: de-duplicated by id
    for n in range(4):  # copies under other ids (a sweep racing the approval, a requeue by hand)
        harness.queue.queue.enqueue(APPLY_JOB, draft.id, draft.version, job_id=f"copy-{n}-{draft.id}")

    harness.work()

    assert harness.get(draft.id).status is DraftStatus.APPLIED
    assert len(harness.api_writes()) == 1
    outcomes = [
        Job.fetch(f"copy-{n}-{draft.id}", connection=harness.redis, serializer=JSONSerializer).return_value()
        for n in range(4)
    ]
    assert outcomes == ["noop"] * 4


def test_attempts_racing_on_one_draft_make_one_write(harness: Harness) -> None:
    draft = harness.approve(harness.propose_change("cmp_us_005", delta=2000))
    deps = harness.executor
    outcomes: list[Outcome] = []
    start = threading.Barrier(6)

    def attempt() -> None:
        start.wait()
        outcomes.append(apply_draft(deps, draft.id))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert harness.get(draft.id).status is DraftStatus.APPLIED
    assert len(harness.api_writes()) == 1
    assert outcomes.count(Outcome.APPLIED) == 1
    assert set(outcomes) <= {Outcome.APPLIED, Outcome.BUSY, Outcome.NOOP}


def test_a_value_changed_out_of_band_makes_the_draft_stale_without_a_write(harness: Harness) -> None:
    draft = harness.approve(harness.propose_change("cmp_us_006", delta=3000))
    harness.out_of_band("cmp_us_006", daily_budget=12345)

    harness.work()

    stale = harness.get(draft.id)
    assert stale.status is DraftStatus.STALE
    assert "123.45" in (stale.error or "")
    assert harness.api_writes() == []
    assert harness.core.store.envelope_used(US, now=harness.clock.now()) == 0  # the reservation is given back
    assert _actions(harness, draft.id)[-1] == "stale"


def test_a_value_already_equal_to_after_counts_as_applied_without_a_write(harness: Harness) -> None:
    before = harness.budget("cmp_us_007")
    draft = harness.approve(harness.propose_change("cmp_us_007", delta=1500))
    harness.out_of_band("cmp_us_007", daily_budget=before + 1500)

    harness.work()

    assert harness.get(draft.id).status is DraftStatus.APPLIED
    assert harness.api_writes() == []


def test_transient_503s_are_retried_until_the_platform_recovers(harness: Harness) -> None:
    draft = harness.approve(harness.propose_change("cmp_us_009", delta=1000))
    harness.faults(error_rate=1.0, error_status=503, scope="all")
    retries = harness.executor.retries

    harness.drive(draft.id, until=lambda _: retries.attempts(draft.id) >= 3)
    assert harness.get(draft.id).status is DraftStatus.APPLYING
    assert "503" in (retries.last_error(draft.id) or "")
    harness.faults()

    done = harness.drive(draft.id)
    assert done.status is DraftStatus.APPLIED
    assert len(harness.api_writes()) == 1
    assert retries.attempts(draft.id) == 0  # forgotten once applied


def test_a_429_waits_at_least_its_retry_after(harness: Harness) -> None:
    draft = harness.approve(harness.propose_change("cmp_us_010", delta=1000))
    harness.faults(error_rate=1.0, error_status=429, scope="all")
    started = harness.clock.now().timestamp()

    harness.work()

    due = harness.executor.retries.scheduled_at(draft.id)
    assert due is not None
    assert due / 1000 - started >= 1.0  # adsim's Retry-After: 1 beats our 0.05 s backoff
    harness.faults()
    harness.clock.advance(seconds=1)
    assert harness.drive(draft.id).status is DraftStatus.APPLIED


def test_the_retry_budget_ends_in_a_loud_apply_failed(harness: Harness) -> None:
    harness.configure(SPENDGATE_RETRY_MAX_ATTEMPTS="3")
    draft = harness.approve(harness.propose_change("cmp_us_011", delta=1000))
    harness.faults(error_rate=1.0, error_status=502, scope="writes")

    failed = harness.drive(draft.id)

    assert failed.status is DraftStatus.APPLY_FAILED
    assert failed.error is not None and failed.error.startswith("gave up after 3 attempts")
    assert "502" in failed.error
    assert harness.api_writes() == []
    assert _actions(harness, draft.id)[-1] == "apply_failed"


def test_a_permanent_refusal_ends_in_apply_failed_with_the_platform_message(harness: Harness) -> None:
    draft = harness.approve(harness.propose_change("cmp_us_012", delta=1000))
    # Someone used our idempotency key for a different request: adsim refuses ours with a 422.
    live = harness.budget("cmp_us_012")
    httpx.patch(
        f"{harness.world.adsim_url}/v1/accounts/{US}/campaigns/cmp_us_012",
        json={"daily_budget": live},
        headers={"Authorization": f"Bearer {ADSIM_WRITE_TOKEN}", "Idempotency-Key": f"{draft.id}:0"},
    ).raise_for_status()

    harness.work()

    failed = harness.get(draft.id)
    assert failed.status is DraftStatus.APPLY_FAILED
    assert failed.error is not None
    assert "422" in failed.error
    assert "Idempotency-Key was already used with a different request" in failed.error
    assert harness.api_writes() == []


def test_a_lost_answer_is_retried_with_the_same_key_and_makes_one_write(harness: Harness) -> None:
    before = harness.budget("cmp_us_013")
    draft = harness.approve(harness.propose_change("cmp_us_013", delta=2500))
    harness.faults(drop_after_write_rate=1.0)

    done = harness.drive(draft.id)

    assert done.status is DraftStatus.APPLIED
    assert harness.budget("cmp_us_013") == before + 2500
    writes = harness.api_writes()
    assert len(writes) == 1
    assert writes[0]["idempotency_key"] == f"{draft.id}:0"


def test_a_shift_whose_second_change_went_stale_fails_naming_what_was_applied(harness: Harness) -> None:
    source_before = harness.budget("cmp_us_012")
    draft = harness.approve(harness.propose_shift("cmp_us_012", "cmp_us_015", amount="20.00"))
    harness.out_of_band("cmp_us_015", daily_budget=54321)

    harness.work()

    failed = harness.get(draft.id)
    assert failed.status is DraftStatus.APPLY_FAILED
    assert failed.applied_changes == (0,)
    assert failed.error is not None and "cmp_us_015" in failed.error and "rollback" in failed.error
    writes = harness.api_writes()
    assert [(w["campaign"], w["new"]) for w in writes] == [("cmp_us_012", source_before - 2000)]


def test_a_shift_applies_both_changes_in_order(harness: Harness) -> None:
    draft = harness.approve(harness.propose_shift("cmp_us_005", "cmp_us_007", amount="15.00"))

    harness.work()

    assert harness.get(draft.id).status is DraftStatus.APPLIED
    keys = [w["idempotency_key"] for w in harness.api_writes()]
    assert keys == [f"{draft.id}:0", f"{draft.id}:1"]


def test_enabling_at_a_budget_raised_out_of_band_is_stale(harness: Harness) -> None:
    """Regression: an enable's impact (and its four eyes) was weighed at the budget it had when drafted."""
    draft = drafting.propose_status_change(
        deps=harness.core,
        principal=harness.agent,
        account_id=US,
        campaign_id="cmp_us_002",  # paused, 65.00 a day in the seed
        new_status=CampaignStatus.ENABLED,
        reason="test: resume",
    )
    harness.approve(draft)
    harness.out_of_band("cmp_us_002", daily_budget=900_000)

    harness.work()

    stale = harness.get(draft.id)
    assert stale.status is DraftStatus.STALE
    assert stale.error is not None and "daily budget" in stale.error
    assert harness.api_writes() == []
