"""The operations page's data: the executor's circuit breakers, queue depths and outbound deliveries.

Circuit state is read from Redis in the executor's format (`spendgate_executor.circuit`, never imported:
services stay independent): hash `Keys.circuit(account)` with `failures` and `open_until` (epoch ms;
absent or 0 = closed), set `Keys.circuit_accounts()` of accounts that ever failed. The console only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from spendgate_approvals.console.formatting import duration, timestamp
from spendgate_core.adapters.events import recent_deliveries
from spendgate_core.adapters.keys import DEFAULT_KEYS, Keys
from spendgate_core.contracts.jobs import APPLY_QUEUE, EVENTS_QUEUE

CircuitMode = Literal["closed", "open", "half_open"]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class CircuitState:
    account_id: str
    mode: CircuitMode
    failures: int
    detail: str

    @property
    def paused(self) -> bool:
        return self.mode != "closed"


def circuit_state(
    client: redis.Redis, account_id: str, *, now: datetime, keys: Keys = DEFAULT_KEYS
) -> CircuitState:
    fields = {_text(k): _text(v) for k, v in client.hgetall(keys.circuit(account_id)).items()}
    failures = int(fields.get("failures") or 0)
    open_until_ms = int(fields.get("open_until") or 0)
    if open_until_ms <= 0:
        detail = f"{failures} recent upstream failure(s)" if failures else "applies run normally"
        return CircuitState(account_id, "closed", failures, detail)
    open_until = datetime.fromtimestamp(open_until_ms / 1000, UTC)
    if open_until > now:
        detail = (
            f"applies paused after repeated upstream failures; next try at {timestamp(open_until)} "
            f"(in {duration((open_until - now).total_seconds())})"
        )
        return CircuitState(account_id, "open", failures, detail)
    return CircuitState(account_id, "half_open", failures, "cool-down over; one probe apply is let through")


def tracked_accounts(client: redis.Redis, *, keys: Keys = DEFAULT_KEYS) -> set[str]:
    """Accounts the executor has ever counted an upstream failure for."""
    return {_text(m) for m in client.smembers(keys.circuit_accounts())}


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


def deliveries(client: redis.Redis, *, limit: int = 50) -> list[Delivery]:
    """The newest outbound webhook delivery attempts, as written by the executor's relay."""
    return [_delivery(entry) for entry in recent_deliveries(client, limit)]


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
