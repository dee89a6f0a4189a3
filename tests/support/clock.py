"""A clock tests move by hand: arm windows, expiry and signature windows without sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class MovableClock:
    """Thread-safe, so an app served in a thread and the test can share it."""

    def __init__(self, at: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = at or datetime.now(UTC)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def set(self, at: datetime) -> None:
        with self._lock:
            self._now = at
