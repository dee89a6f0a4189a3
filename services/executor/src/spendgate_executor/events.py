"""Outbound events: draft events relayed to subscriber URLs as Standard-Webhooks-signed POSTs, with retries.

    event stream ──(group `webhooks`, `relay_events`)──▶ one delivery per (event, subscriber)
        delivery due ──(`enqueue_due`)──▶ RQ job `deliver_event(event_id, url, attempt)` on `spendgate-events`
        job: sign + POST (10 s timeout) ──2xx──▶ delivered
                                        └─else─▶ due again after capped backoff + jitter, up to the budget

Deliveries are at least once: `webhook-id` is the event id on every attempt, so receivers dedupe on it.
Retries are ours, not RQ's: a delivery's next due time sits in one sorted set (`Keys.deliveries_due`), which
`enqueue_due` drains — no RQ scheduler needed. A claimed delivery's due time moves a lease ahead, so a
job lost with its worker is enqueued again once the lease passes. Every attempt is appended to the
delivery log the console reads (`spendgate_core.adapters.events.recent_deliveries`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import redis
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from rq import Queue, get_current_job
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer
from standardwebhooks import Webhook

from spendgate_core.adapters import events
from spendgate_core.adapters.keys import DEFAULT_KEYS
from spendgate_core.contracts.events import OUTBOUND_TYPES
from spendgate_core.contracts.jobs import EVENTS_QUEUE
from spendgate_core.errors import ConfigError
from spendgate_core.runtime.settings import load_settings
from spendgate_core.usecases.deps import CoreDeps
from spendgate_executor.retries import Backoff

log = logging.getLogger(__name__)

GROUP = "webhooks"
DELIVER_JOB = "spendgate_executor.events.deliver_event"
DUE_KEY = DEFAULT_KEYS.deliveries_due()
BODY_TTL = timedelta(days=3)  # far beyond the retry budget
DELIVERY_TTL = timedelta(days=7)
MIN_SECRET_BYTES = 24
USER_AGENT = "spendgate-events/1"


class EventSettings(BaseSettings):
    """The outbound-event knobs, read by the worker (relay) and inside delivery jobs."""

    model_config = SettingsConfigDict(env_prefix="SPENDGATE_", extra="ignore", frozen=True)

    event_subscribers: str = Field(default="", description="comma-separated subscriber URLs (http/https)")
    event_secret: SecretStr | None = Field(default=None, description="Standard Webhooks secret, whsec_…")
    event_max_attempts: int = Field(default=10, ge=1, le=50, description="attempts per delivery")
    event_retry_base_seconds: float = Field(default=10.0, gt=0, le=3600, description="first retry delay")
    event_retry_max_seconds: float = Field(default=1800.0, gt=0, le=86400, description="cap on a retry delay")
    event_timeout_seconds: float = Field(default=10.0, gt=0, le=60, description="per POST")
    event_lease_seconds: float = Field(
        default=300.0, gt=0, le=3600, description="a delivery job not finished after this is enqueued again"
    )


@dataclass(frozen=True)
class EventConfig:
    subscribers: tuple[str, ...]
    webhook: Webhook | None
    backoff: Backoff
    max_attempts: int
    timeout_seconds: float
    lease_seconds: float


def event_config(settings: EventSettings) -> EventConfig:
    """Validated outbound-event configuration; ConfigError with one line when unusable."""
    urls: list[str] = []
    for raw in settings.event_subscribers.split(","):
        url = raw.strip()
        if not url:
            continue
        parsed = httpx.URL(url) if url.startswith(("http://", "https://")) and " " not in url else None
        if parsed is None or not parsed.host:
            raise ConfigError(f"SPENDGATE_EVENT_SUBSCRIBERS: {url!r} is not an http(s) URL")
        if url not in urls:
            urls.append(url)
    webhook = None
    if settings.event_secret is not None and settings.event_secret.get_secret_value().strip():
        secret = settings.event_secret.get_secret_value().strip()
        try:
            key = base64.b64decode(secret.removeprefix("whsec_") + "==")
        except (binascii.Error, ValueError):
            key = b""
        if len(key) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"SPENDGATE_EVENT_SECRET must be whsec_ + base64 of at least {MIN_SECRET_BYTES} random bytes"
            )
        webhook = Webhook(secret)
    if urls and webhook is None:
        raise ConfigError(
            "SPENDGATE_EVENT_SUBSCRIBERS is set but SPENDGATE_EVENT_SECRET is not; events are signed"
        )
    return EventConfig(
        subscribers=tuple(urls),
        webhook=webhook,
        backoff=Backoff(
            base_seconds=settings.event_retry_base_seconds, max_seconds=settings.event_retry_max_seconds
        ),
        max_attempts=settings.event_max_attempts,
        timeout_seconds=settings.event_timeout_seconds,
        lease_seconds=settings.event_lease_seconds,
    )


# keys ---------------------------------------------------------------------------------------------------
def _url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


_body_key = DEFAULT_KEYS.event_body
_delivery_key = DEFAULT_KEYS.delivery


def _member(event_id: str, url: str) -> str:
    return f"{event_id} {url}"  # URLs hold no spaces (checked in event_config)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# Register a delivery once: its state and its first due time, unless it exists already (a re-read event).
_REGISTER = """
if redis.call('exists', KEYS[1]) == 1 then return 0 end
redis.call('hset', KEYS[1], 'url', ARGV[3], 'event_id', ARGV[4], 'attempt', 1, 'state', 'pending',
           'enqueued', 0)
redis.call('expire', KEYS[1], ARGV[5])
redis.call('zadd', KEYS[2], ARGV[2], ARGV[1])
return 1
"""
# Claim due deliveries: move each one's due time a lease ahead, so no other relay takes it meanwhile.
_CLAIM_DUE = """
local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(due) do redis.call('zadd', KEYS[1], ARGV[2], member) end
return due
"""
# Settle attempt ARGV[1]: only if the delivery still waits for exactly that attempt (a duplicate job of an
# earlier attempt changes nothing). ARGV[5] empty: done (delivered/failed); else the next due time.
_SETTLE = """
if redis.call('hget', KEYS[1], 'state') ~= 'pending' or redis.call('hget', KEYS[1], 'attempt') ~= ARGV[1] then
  return 0
end
redis.call('hset', KEYS[1], 'state', ARGV[2], 'attempt', ARGV[3])
if ARGV[5] == '' then
  redis.call('zrem', KEYS[2], ARGV[4])
else
  redis.call('zadd', KEYS[2], ARGV[5], ARGV[4])
end
return 1
"""


# the relay ----------------------------------------------------------------------------------------------
def relay_events(
    client: redis.Redis,
    *,
    subscribers: tuple[str, ...],
    consumer: str,
    now: datetime | None = None,
    count: int = 100,
    claim_idle_ms: int = 60_000,
) -> int:
    """Turn new outbound events into deliveries (one per subscriber), then acknowledge them; how many
    deliveries were registered. Safe to run on every worker at once (a consumer group shares the work)."""
    now = now or datetime.now(UTC)
    events.ensure_group(client, GROUP)
    taken = events.claim_stale(client, group=GROUP, consumer=consumer, min_idle_ms=claim_idle_ms, count=count)
    taken += events.read_new(client, group=GROUP, consumer=consumer, count=count, block_ms=None)
    registered = 0
    for stream_id, event in taken:
        if event is not None and event.type in OUTBOUND_TYPES and subscribers:
            client.set(_body_key(event.id), event.payload, ex=BODY_TTL, nx=True)
            for url in subscribers:
                registered += int(
                    client.eval(
                        _REGISTER,
                        2,
                        _delivery_key(event.id, url),
                        DUE_KEY,
                        _member(event.id, url),
                        _ms(now),
                        url,
                        event.id,
                        int(DELIVERY_TTL.total_seconds()),
                    )
                )
        events.ack(client, group=GROUP, stream_ids=[stream_id])
    return registered


def enqueue_due(
    client: redis.Redis, *, lease_seconds: float, now: datetime | None = None, limit: int = 200
) -> int:
    """Enqueue a delivery job for every delivery that is due; how many were enqueued."""
    now = now or datetime.now(UTC)
    lease_until = now + timedelta(seconds=lease_seconds)
    claimed = client.eval(_CLAIM_DUE, 1, DUE_KEY, _ms(now), _ms(lease_until), limit)
    queue = Queue(EVENTS_QUEUE, connection=client, serializer=JSONSerializer)
    enqueued = 0
    for raw in claimed:
        event_id, url = _text(raw).split(" ", 1)
        key = _delivery_key(event_id, url)
        state = {_text(k): _text(v) for k, v in client.hgetall(key).items()}
        if state.get("state") != "pending":
            client.zrem(DUE_KEY, _text(raw))  # settled meanwhile, or its state expired
            continue
        attempt, nth = int(state["attempt"]), int(client.hincrby(key, "enqueued", 1))
        try:
            queue.enqueue(
                DELIVER_JOB,
                event_id,
                url,
                attempt,
                job_id=f"deliver-{event_id}-{_url_hash(url)}-a{attempt}-{nth}",
                unique=True,
                job_timeout=60,
                result_ttl=86400,
                failure_ttl=7 * 86400,
                description=f"deliver {event_id} to {events.display_url(url)} (attempt {attempt})",
            )
        except DuplicateJobError:
            continue
        enqueued += 1
    return enqueued


class EventRelay:
    """The worker's background thread: relay new events, enqueue due deliveries, reconcile lost events."""

    def __init__(
        self,
        *,
        redis: redis.Redis,
        core: CoreDeps,
        config: EventConfig,
        consumer: str,
        interval_seconds: float = 1.0,
        reconcile_seconds: float = 30.0,
    ) -> None:
        self.redis = redis
        self.core = core
        self.config = config
        self.consumer = consumer
        self.interval_seconds = interval_seconds
        self.reconcile_seconds = reconcile_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_reconcile = float("-inf")

    def tick(self) -> None:
        """One pass; every step is safe on several workers at once."""
        if self.config.subscribers:
            relay_events(self.redis, subscribers=self.config.subscribers, consumer=self.consumer)
        enqueue_due(self.redis, lease_seconds=self.config.lease_seconds)
        if time.monotonic() - self._last_reconcile >= self.reconcile_seconds:
            self._last_reconcile = time.monotonic()
            # One worker per period reconciles; the lock simply lapses.
            lock_ms = int(self.reconcile_seconds * 1000 * 0.9)
            if self.redis.set(DEFAULT_KEYS.reconcile_lock(), self.consumer, nx=True, px=max(1, lock_ms)):
                events.reconcile(
                    store=self.core.store,
                    client=self.redis,
                    now=self.core.clock.now(),
                    url_for=self.core.draft_url,
                )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="spendgate-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_seconds + 10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                self.tick()
            except Exception:
                log.exception("event relay pass failed")  # the next pass tries again


# the delivery job ---------------------------------------------------------------------------------------
_lock = threading.Lock()
_delivery: tuple[EventConfig, httpx.Client] | None = None


def configure_delivery(config: EventConfig) -> None:
    """Wire this process's delivery jobs (the worker entrypoint; tests). Jobs otherwise read the env."""
    global _delivery
    with _lock:
        previous, _delivery = _delivery, (config, httpx.Client(timeout=config.timeout_seconds))
    if previous is not None:
        previous[1].close()


def reset_delivery() -> None:
    global _delivery
    with _lock:
        previous, _delivery = _delivery, None
    if previous is not None:
        previous[1].close()


def _delivery_context() -> tuple[EventConfig, httpx.Client]:
    global _delivery
    with _lock:
        if _delivery is None:
            config = event_config(load_settings(EventSettings))
            _delivery = (config, httpx.Client(timeout=config.timeout_seconds))
        return _delivery


def _retry_after(response: httpx.Response | None) -> float | None:
    value = response.headers.get("retry-after", "") if response is not None else ""
    # isascii: str.isdigit() also accepts "²", which float() refuses; a subscriber's header is untrusted.
    return float(value) if value.isascii() and value.isdigit() else None


def deliver_event(event_id: str, url: str, attempt: int) -> str:
    """Attempt `attempt` of delivering `event_id` to `url`: `delivered`, `retrying`, `failed` or `noop`."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("deliver_event runs as an RQ job on the spendgate-events queue")
    client: redis.Redis = job.connection
    config, http = _delivery_context()
    key = _delivery_key(event_id, url)
    state = {_text(k): _text(v) for k, v in client.hgetall(key).items()}
    if state.get("state") != "pending" or state.get("attempt") != str(attempt):
        return "noop"  # a duplicate job, or one of an attempt already settled
    body = client.get(_body_key(event_id))
    if body is None or config.webhook is None:
        why = "the event payload expired" if body is None else "SPENDGATE_EVENT_SECRET is not set"
        return _settle(
            client, config, event_id, url, attempt, payload=None, status=None, error=why, final=True
        )
    payload = _text(body)
    now = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": config.webhook.sign(msg_id=event_id, timestamp=now, data=payload),
    }
    started = time.monotonic()
    response: httpx.Response | None = None
    error = None
    try:
        response = http.post(url, content=payload.encode(), headers=headers, follow_redirects=False)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    duration_ms = int((time.monotonic() - started) * 1000)
    ok = response is not None and response.is_success
    if response is not None and not ok:
        error = f"HTTP {response.status_code}"
    return _settle(
        client,
        config,
        event_id,
        url,
        attempt,
        payload=payload,
        status=response.status_code if response is not None else None,
        error=None if ok else error,
        final=ok or attempt >= config.max_attempts,
        duration_ms=duration_ms,
        retry_after=_retry_after(response),
    )


def _settle(
    client: redis.Redis,
    config: EventConfig,
    event_id: str,
    url: str,
    attempt: int,
    *,
    payload: str | None,
    status: int | None,
    error: str | None,
    final: bool,
    duration_ms: int | None = None,
    retry_after: float | None = None,
) -> str:
    """Record the attempt in the log and move the delivery on: delivered, failed, or due again later."""
    now = datetime.now(UTC)
    next_at: datetime | None = None
    if error is None:
        outcome, new_state, new_attempt = "delivered", "delivered", attempt
    elif final:
        outcome, new_state, new_attempt = "failed", "failed", attempt
    else:
        delay = config.backoff.delay(attempt, retry_after=retry_after)
        outcome, new_state, new_attempt = "retrying", "pending", attempt + 1
        next_at = now + timedelta(seconds=delay)
    client.eval(
        _SETTLE,
        2,
        _delivery_key(event_id, url),
        DUE_KEY,
        str(attempt),
        new_state,
        new_attempt,
        _member(event_id, url),
        "" if next_at is None else _ms(next_at),
    )
    data = json.loads(payload) if payload else {}
    events.record_delivery(
        client,
        {
            "event_id": event_id,
            "type": data.get("type"),
            "draft_id": (data.get("data") or {}).get("id"),
            "url": events.display_url(url),
            "attempt": attempt,
            "outcome": outcome,
            "http_status": status,
            "error": error,
            "at": now.isoformat(),
            "duration_ms": duration_ms,
            "next_attempt_at": next_at.isoformat() if next_at else None,
        },
    )
    if outcome == "failed":
        log.error(
            "gave up delivering %s to %s after %d attempts: %s",
            event_id,
            events.display_url(url),
            attempt,
            error,
        )
    return outcome
