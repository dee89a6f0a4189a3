"""Retry timing: capped exponential backoff with jitter, and the platform's Retry-After as a floor."""

from __future__ import annotations

import pytest

from spendgate_core.adapters.duework import MAX_RETRY_AFTER_SECONDS, Backoff


@pytest.mark.parametrize("jitter", [0.0, 0.5, 0.999])
def test_each_delay_lies_between_half_and_all_of_its_exponential_step(jitter: float) -> None:
    backoff = Backoff(base_seconds=0.5, max_seconds=60, jitter=lambda: jitter)
    for attempt, step in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (7, 32.0)]:
        delay = backoff.delay(attempt)
        assert step / 2 <= delay <= step
        assert delay == pytest.approx(step / 2 + jitter * step / 2)


def test_delays_are_capped() -> None:
    backoff = Backoff(base_seconds=0.5, max_seconds=10, jitter=lambda: 1.0)
    assert backoff.delay(30) == 10
    assert backoff.delay(1000) == 10  # no overflow for absurd attempt numbers


def test_jitter_spreads_retries_of_the_same_attempt() -> None:
    backoff = Backoff(base_seconds=1, max_seconds=60)
    assert len({backoff.delay(3) for _ in range(50)}) > 40


def test_retry_after_is_a_floor_not_a_ceiling() -> None:
    backoff = Backoff(base_seconds=0.5, max_seconds=60, jitter=lambda: 0.0)
    assert backoff.delay(1, retry_after=3) == 3
    assert backoff.delay(7, retry_after=3) == 16  # our own backoff is already longer
    assert backoff.delay(1, retry_after=0) == 0.25


def test_an_absurd_retry_after_is_bounded() -> None:
    backoff = Backoff(base_seconds=0.5, max_seconds=60, jitter=lambda: 0.0)
    assert backoff.delay(1, retry_after=10**9) == MAX_RETRY_AFTER_SECONDS
