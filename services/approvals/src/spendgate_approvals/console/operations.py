"""The operations page's data: the executor's circuit breakers, queue depths and outbound deliveries.

Circuit state is read through core's `adapters.circuit.Circuits`, the same code the executor's breaker
keeps it with; the console only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from spendgate_approvals.console.formatting import duration, timestamp
from spendgate_core.adapters.events import recent_deliveries
from spendgate_core.adapters.keys import Keys
from spendgate_core.contracts.circuit import CircuitMode, CircuitState
from spendgate_core.contracts.jobs import APPLY_QUEUE, EVENTS_QUEUE


@dataclass(frozen=True)
class CircuitView:
    account_id: str
    mode: CircuitMode
    failures: int
    detail: str

    @property
    def paused(self) -> bool:
        return self.mode != "closed"


def circuit_view(state: CircuitState, *, now: datetime) -> CircuitView:
    """How the console words an account's circuit."""
    mode = state.mode(now=now)
    if state.open_until is None:
        failures = state.failures
        detail = f"{failures} recent upstream failure(s)" if failures else "applies run normally"
    elif mode == "open":
        detail = (
            f"applies paused after repeated upstream failures; next try at {timestamp(state.open_until)} "
            f"(in {duration((state.open_until - now).total_seconds())})"
        )
    else:
        detail = "cool-down over; one probe apply is let through"
    return CircuitView(state.account_id, mode, state.failures, detail)


@dataclass(frozen=True)
class QueueState:
    name: str
    queued: int
    failed: int


def queue_states(client: redis.Redis) -> list[QueueState]:
    states = []
    for name in (APPLY_QUEUE, EVENTS_QUEUE):
        queue = Queue(name, connection=client, serializer=JSONSerializer)
        states.append(QueueState(name, queue.count, queue.failed_job_registry.count))
    return states


@dataclass(frozen=True)
class Delivery:
    at: str
    type: str
    draft_id: str | None
    url: str
    attempt: int | None
    outcome: str
    result: str


def deliveries(client: redis.Redis, *, keys: Keys, limit: int = 50) -> list[Delivery]:
    """The newest outbound webhook delivery attempts, as written by the executor's relay."""
    return [_delivery(entry) for entry in recent_deliveries(client, limit, keys=keys)]


def _when(value: Any) -> str:
    try:
        return timestamp(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value or "")


def _delivery(entry: dict[str, Any]) -> Delivery:
    status = entry.get("http_status")
    error = entry.get("error")
    result = " · ".join(str(part) for part in (f"HTTP {status}" if status else None, error) if part)
    attempt = entry.get("attempt")
    return Delivery(
        at=_when(entry.get("at")),
        type=str(entry.get("type") or ""),
        draft_id=entry.get("draft_id") or None,
        url=str(entry.get("url") or ""),
        attempt=attempt if isinstance(attempt, int) else None,
        outcome=str(entry.get("outcome") or "unknown"),
        result=result,
    )
