"""The durable-work due set on real Redis: one taker per due item, leases that pass, a budget that ends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis

from spendgate_core.adapters.duework import Backoff, DueSet, Taken
from tests.support.clock import MovableClock

NO_JITTER = Backoff(base_seconds=1, max_seconds=8, jitter=lambda: 1.0)  # delays 1, 2, 4, 8 s


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def workers(redis_url: str, clock: MovableClock) -> Iterator[list[DueSet]]:
    """Two workers, each with its own connection, on one due set."""
    clients = [redis.Redis.from_url(redis_url) for _ in range(2)]
    yield [
        DueSet(c, key="t:due", clock=clock, lease_seconds=30, backoff=NO_JITTER, max_attempts=3)
        for c in clients
    ]
    for c in clients:
        c.close()


def test_two_workers_one_item_one_taker(workers: list[DueSet]) -> None:
    first, second = workers
    assert first.add("job-1")
    assert not second.add("job-1")  # already waiting
    results: list[list[Taken]] = []
    barrier = threading.Barrier(2)

    def take(due: DueSet) -> None:
        barrier.wait()
        results.append(due.take())

    threads = [threading.Thread(target=take, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [t for r in results for t in r]
    assert [(t.item, t.attempt) for t in taken] == [("job-1", 1)]
    assert first.take() == [] and second.take() == []  # leased, not due
    assert first.succeeded(taken[0])
    assert first.depth() == 0 and first.attempts("job-1") == 0


def test_a_crashed_takers_lease_passes_and_the_item_is_taken_again(
    workers: list[DueSet], clock: MovableClock
) -> None:
    crashed, survivor = workers
    crashed.add("job-2")
    (lost,) = crashed.take()  # ... and the taker dies without settling
    clock.advance(29)
    assert survivor.take() == []
    clock.advance(2)
    (again,) = survivor.take()
    assert again.item == "job-2" and again.attempt == 2 and again.lease_ms > lost.lease_ms
    assert not crashed.holds(lost) and survivor.holds(again)
    assert not crashed.succeeded(lost)  # a late settle of the dead lease changes nothing
    assert crashed.failed(lost).outcome == "stale"
    assert survivor.succeeded(again) and survivor.depth() == 0


def test_failures_back_off_and_give_up_after_the_budget(workers: list[DueSet], clock: MovableClock) -> None:
    due = workers[0]
    due.add("job-3")
    outcomes = []
    for _ in range(3):
        clock.advance(10)
        (taken,) = due.take()
        settled = due.failed(taken)
        outcomes.append((taken.attempt, settled.outcome))
        if settled.next_at is not None:
            assert settled.next_at == clock.now() + timedelta(seconds=NO_JITTER.delay(taken.attempt))
            assert due.waiting("job-3")
    assert outcomes == [(1, "retrying"), (2, "retrying"), (3, "gave_up")]
    assert due.depth() == 0 and due.attempts("job-3") == 0


def test_takers_that_keep_dying_use_up_the_budget_too(workers: list[DueSet], clock: MovableClock) -> None:
    due = workers[0]
    due.add("job-4")
    for attempt in (1, 2, 3):
        (taken,) = due.take()
        assert taken.attempt == attempt and not taken.exhausted
        clock.advance(31)  # the taker died; its lease passes
    (last,) = due.take()
    assert last.exhausted and last.attempt == 4  # reported once, already removed
    assert due.depth() == 0 and due.take() == []


def test_once_for_keeps_a_re_read_item_from_coming_back(workers: list[DueSet]) -> None:
    due = workers[0]
    assert due.add("evt-1 http://x", once_for=timedelta(days=1))
    (taken,) = due.take()
    assert due.succeeded(taken)
    assert not due.add("evt-1 http://x", once_for=timedelta(days=1))  # done already: not again
    assert due.depth() == 0


def test_work_tried_once_elsewhere_waits_its_backoff_and_counts_that_try(
    workers: list[DueSet], clock: MovableClock
) -> None:
    due = workers[0]
    assert due.add("slack-1", attempts_made=1)
    assert due.take() == [] and due.waiting("slack-1")
    clock.advance(1)
    (taken,) = due.take()
    assert taken.attempt == 2


def test_putting_an_item_that_is_taken_fences_its_taker_out(
    workers: list[DueSet], clock: MovableClock
) -> None:
    # A newer change arrives while a retry of the same item is under way (it may have read old state):
    # `add` finds the item held, `put` makes it due now, and the under-way taker cannot settle it away.
    first, second = workers
    first.add("show drf_1")
    [taken] = first.take()
    assert not second.add("show drf_1", attempts_made=1)
    second.put("show drf_1", at=clock.now())
    assert not first.succeeded(taken)
    [again] = second.take()
    assert again.item == "show drf_1"
    assert second.succeeded(again)


def test_take_uses_the_time_it_is_given(workers: list[DueSet], clock: MovableClock) -> None:
    first, _ = workers
    first.add("later", at=clock.now() + timedelta(seconds=10))
    assert first.take() == []
    assert [t.item for t in first.take(now=clock.now() + timedelta(seconds=10))] == ["later"]
