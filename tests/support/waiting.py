"""Wait for something another thread or process does: the one polling loop every test shares."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    check: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.02, what: str | None = None
) -> T:
    """Call `check` until it returns something truthy, and return that.

    An `AssertionError` from `check` means "not yet", like a falsy result, so a check may be a block of
    asserts that ends in `return True`. Any other exception (a `RuntimeError`, `pytest.fail(...)`) ends
    the wait at once: use one for what can never come right, such as the process under test exiting.
    After `timeout` seconds the wait fails with an `AssertionError` naming `what` and the last error or
    result, chained to that error.
    """
    deadline = time.monotonic() + timeout
    while True:
        last: AssertionError | None = None
        try:
            result = check()
        except AssertionError as exc:
            last = exc
            seen = str(exc) or repr(exc)
        else:
            if result:
                return result
            seen = f"the check returned {result!r}"
        if time.monotonic() >= deadline:
            subject = what or getattr(check, "__qualname__", repr(check))
            raise AssertionError(f"still waiting for {subject} after {timeout:g}s: {seen}") from last
        time.sleep(interval)
