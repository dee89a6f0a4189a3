"""One delivery attempt: sign the event, POST it to the subscriber, settle the delivery, log the attempt."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
import redis

from spendgate_core.adapters.duework import Taken
from spendgate_core.domain.clock import Clock
from spendgate_executor.events.config import EventConfig
from spendgate_executor.events.deliveries import Deliveries, member
from spendgate_executor.events.log import record_attempt

USER_AGENT = "spendgate-events/1"


@dataclass(frozen=True)
class DeliveryDeps:
    """What a delivery job needs, built once per worker process (`spendgate_executor.wiring`)."""

    redis: redis.Redis
    config: EventConfig
    deliveries: Deliveries
    http: httpx.Client
    clock: Clock


def retry_after(response: httpx.Response | None) -> float | None:
    value = response.headers.get("retry-after", "") if response is not None else ""
    # isascii: str.isdigit() also accepts "²", which float() refuses; a subscriber's header is untrusted.
    return float(value) if value.isascii() and value.isdigit() else None


def deliver(deps: DeliveryDeps, *, event_id: str, url: str, attempt: int, lease_ms: int) -> str:
    """Attempt `attempt` of delivering `event_id` to `url`: `delivered`, `retrying`, `failed` or `noop`."""
    taken = Taken(member(event_id, url), attempt, lease_ms)
    due = deps.deliveries.due
    if not due.holds(taken):
        return "noop"  # settled already, or the lease passed and a later attempt has it
    payload = deps.deliveries.body(event_id)
    webhook = deps.config.webhook
    if payload is None or webhook is None:
        due.succeeded(taken)  # nothing can ever deliver it: done with, as a failure
        why = "the event payload expired" if payload is None else "SPENDGATE_EVENT_SECRET is not set"
        record_attempt(
            deps.redis,
            keys=deps.deliveries.keys,
            event_id=event_id,
            url=url,
            attempt=attempt,
            payload=payload,
            outcome="failed",
            at=deps.clock.now(),
            error=why,
        )
        return "failed"
    now = deps.clock.now()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": webhook.sign(msg_id=event_id, timestamp=now, data=payload),
    }
    started = time.monotonic()
    response: httpx.Response | None = None
    error = None
    try:
        response = deps.http.post(url, content=payload.encode(), headers=headers, follow_redirects=False)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    duration_ms = int((time.monotonic() - started) * 1000)
    if response is not None and not response.is_success:
        error = f"HTTP {response.status_code}"
    next_at = None
    if error is None:
        outcome = "delivered" if due.succeeded(taken) else "noop"
    else:
        settled = due.failed(taken, retry_after=retry_after(response))
        outcome = {"retrying": "retrying", "gave_up": "failed"}.get(settled.outcome, "noop")
        next_at = settled.next_at
    if outcome != "noop":
        record_attempt(
            deps.redis,
            keys=deps.deliveries.keys,
            event_id=event_id,
            url=url,
            attempt=attempt,
            payload=payload,
            outcome=outcome,
            at=deps.clock.now(),
            status=response.status_code if response is not None else None,
            error=error,
            duration_ms=duration_ms,
            next_at=next_at,
        )
    return outcome
