"""The periodic-task base: runs on its interval, survives failing passes, stops promptly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from spendgate_core.runtime.periodic import PeriodicTask


def _until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_it_runs_steps_in_a_named_daemon_thread_until_stopped() -> None:
    seen: list[str] = []
    task = PeriodicTask(
        name="test-task", interval_seconds=0.01, step=lambda: seen.append(threading.current_thread().name)
    )
    task.start()
    _until(lambda: len(seen) >= 3)
    assert task.stop(timeout=2)
    count = len(seen)
    time.sleep(0.05)
    assert len(seen) == count  # nothing after stop
    assert set(seen) == {"test-task"} and task.runs == count


def test_a_failing_step_is_logged_counted_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []
    recovered: list[Exception] = []

    def step() -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError("redis went away")

    task = PeriodicTask(
        name="flaky", interval_seconds=0.01, error_wait_seconds=0.0, step=step, on_error=recovered.append
    )
    task.start()
    _until(lambda: len(calls) >= 4)
    task.stop(timeout=2)
    assert task.failures == 2 and task.runs >= 2
    assert [str(e) for e in recovered] == ["redis went away", "redis went away"]
    assert sum("flaky: pass" in r.getMessage() for r in caplog.records) == 2


def test_stop_does_not_wait_out_a_long_interval() -> None:
    task = PeriodicTask(name="slow", interval_seconds=3600, step=lambda: None)
    task.start()
    started = time.monotonic()
    assert task.stop()
    assert time.monotonic() - started < 1
    assert task.runs == 0  # the first pass is one interval after start


def test_first_wait_false_runs_at_once_and_a_step_can_finish_its_own_loop() -> None:
    task = PeriodicTask(name="once", interval_seconds=3600, step=lambda: task.finish(), first_wait=False)
    task.start()
    _until(lambda: task.runs == 1)
    assert task.stopping and task.stop(timeout=1)


def test_a_task_without_a_step_is_refused_when_built() -> None:
    with pytest.raises(TypeError, match="step"):
        PeriodicTask(name="empty", interval_seconds=1)  # type: ignore[call-arg]
