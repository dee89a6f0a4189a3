"""The tests' one polling helper: what counts as "not yet", what ends the wait, what a timeout says."""

from __future__ import annotations

import itertools

import pytest

from tests.support.waiting import eventually


def test_returns_the_first_truthy_result_and_retries_falsy_ones_and_failed_asserts() -> None:
    calls = itertools.count(1)

    def third_time() -> int:
        n = next(calls)
        assert n >= 2, "not yet"
        return n if n >= 3 else 0

    assert eventually(third_time, timeout=5, interval=0) == 3


def test_a_timeout_names_what_was_awaited_and_keeps_the_last_assertion() -> None:
    def never() -> bool:
        raise AssertionError("status is pending")

    with pytest.raises(AssertionError, match=r"the draft after 0\.05s: status is pending") as info:
        eventually(never, timeout=0.05, interval=0.01, what="the draft")
    assert isinstance(info.value.__cause__, AssertionError)


def test_a_falsy_result_at_the_timeout_is_reported() -> None:
    with pytest.raises(AssertionError, match=r"the check returned \[\]"):
        eventually(list, timeout=0.05, interval=0.01)


def test_any_other_error_ends_the_wait_at_once() -> None:
    calls = itertools.count(1)

    def dies() -> bool:
        next(calls)
        raise RuntimeError("the process exited")

    with pytest.raises(RuntimeError, match="exited"):
        eventually(dies, timeout=5, interval=0)
    assert next(calls) == 2
