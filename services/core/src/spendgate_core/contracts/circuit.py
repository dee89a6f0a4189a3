"""A circuit breaker's state, as the executor keeps it (`adapters.circuit`) and the console shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

CircuitMode = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class CircuitState:
    """`open_until` is None while closed; once it passes the circuit is half-open (one probe goes)."""

    account_id: str
    failures: int
    open_until: datetime | None

    def mode(self, *, now: datetime) -> CircuitMode:
        if self.open_until is None:
            return "closed"
        return "open" if now < self.open_until else "half_open"
