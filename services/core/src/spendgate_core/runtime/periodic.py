"""The periodic-task base: the one way a service runs work on a timer in a background thread.

Every background loop of the services (the executor's sweep and event relay, lease renewal, the
approval service's ledger watch and Slack consumer) is a `PeriodicTask`: one named daemon thread that
calls `step()` every `interval_seconds` until `stop()`. A step that raises is logged and counted, and the
loop goes on (after `error_wait_seconds`): a Redis blip or one bad item never ends a loop. A step may
end its own loop with `finish()` (a lost lease stops renewing).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicTask:
    """Run `step` every `interval_seconds` in a daemon thread named `name`; `on_error` (in the task's
    thread, after a failed step was logged) is a hook for recovery. A subclass passes its own method as
    `step`, so that tests can call that method directly. `first_wait=False`
    runs the first step at once instead of one interval after `start()`. `wait(seconds)` returns True
    when the task should stop; it waits on the stop event, so `stop()` never waits out an interval.
    Tests call `step()` directly.
    """

    def __init__(
        self,
        *,
        name: str,
        interval_seconds: float,
        step: Callable[[], object],
        on_error: Callable[[Exception], object] | None = None,
        error_wait_seconds: float | None = None,
        first_wait: bool = True,
    ) -> None:
        self.name = name
        self.interval_seconds = interval_seconds
        self.error_wait_seconds = interval_seconds if error_wait_seconds is None else error_wait_seconds
        self.failures = 0  # steps that raised, for tests and logs
        self.runs = 0  # steps that ran to the end
        self._step = step
        self._on_error = on_error
        self._first_wait = first_wait
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def finish(self) -> None:
        """Ask the loop to end after the current step (safe from within a step)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, timeout: float | None = None) -> bool:
        """End the loop and wait up to `timeout` seconds (default: one interval plus 10) for the current
        step; whether the thread has ended."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout=self.interval_seconds + 10 if timeout is None else timeout)
        return not thread.is_alive()

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when the task is asked to stop meanwhile."""
        return self._stop.wait(seconds)

    def _loop(self) -> None:
        if self._first_wait and self.wait(self.interval_seconds):
            return
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:
                self.failures += 1
                log.exception("%s: pass %d failed; the next one tries again", self.name, self.failures)
                try:
                    if self._on_error is not None:
                        self._on_error(exc)
                except Exception:
                    log.exception("%s: recovering from a failed pass failed too", self.name)
                if self.wait(self.error_wait_seconds):
                    return
                continue
            self.runs += 1
            if self.wait(self.interval_seconds):
                return
