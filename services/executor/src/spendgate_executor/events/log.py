"""The delivery log: one entry per delivery attempt, newest first, as the console shows it."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import redis

from spendgate_core.adapters import events
from spendgate_core.adapters.keys import Keys

log = logging.getLogger(__name__)


def record_attempt(
    client: redis.Redis,
    *,
    keys: Keys,
    event_id: str,
    url: str,
    attempt: int,
    payload: str | None,
    outcome: str,
    at: datetime,
    status: int | None = None,
    error: str | None = None,
    duration_ms: int | None = None,
    next_at: datetime | None = None,
) -> None:
    """Append the attempt to the log (`spendgate_core.adapters.events.recent_deliveries` reads it); a
    give-up is also an error line."""
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
            "at": at.isoformat(),
            "duration_ms": duration_ms,
            "next_attempt_at": next_at.isoformat() if next_at else None,
        },
        keys=keys,
    )
    if outcome == "failed":
        log.error(
            "gave up delivering %s to %s after %d attempts: %s",
            event_id,
            events.display_url(url),
            attempt,
            error,
        )
