"""The decision webhook's inbox: each verified `webhook-id` is processed once, and its replays get the
first response back. Kept 30 days — far beyond the ±5-minute signature window (an inbox must outlive
at least twice the tolerance), so a captured request can never be replayed into a second change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis

from spendgate_core.adapters.keys import Keys

SEEN_TTL = timedelta(days=30)
IN_PROGRESS_TTL = timedelta(minutes=2)  # a request that died mid-way frees its id after this
_IN_PROGRESS = b"in-progress"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


class Busy:
    """The same webhook-id is being processed right now by another request."""


class WebhookInbox:
    def __init__(self, client: redis.Redis, *, keys: Keys) -> None:
        self._r = client
        self._keys = keys

    def _key(self, webhook_id: str) -> str:
        return self._keys.webhook_inbox(webhook_id)  # hashed: the sender's string, any length and alphabet

    def begin(self, webhook_id: str) -> StoredResponse | Busy | None:
        """None: first time, go ahead (and `finish` or `abandon` after). Else the first response, or Busy."""
        key = self._key(webhook_id)
        if self._r.set(key, _IN_PROGRESS, nx=True, ex=IN_PROGRESS_TTL):
            return None
        raw = self._r.get(key)
        if raw is None:  # expired between the two calls: the earlier attempt was abandoned
            return self.begin(webhook_id)
        if raw == _IN_PROGRESS:
            return Busy()
        stored = json.loads(raw)
        return StoredResponse(status=int(stored["status"]), body=stored["body"])

    def finish(self, webhook_id: str, response: StoredResponse) -> None:
        payload = json.dumps({"status": response.status, "body": response.body}, separators=(",", ":"))
        self._r.set(self._key(webhook_id), payload, ex=SEEN_TTL)

    def abandon(self, webhook_id: str) -> None:
        """Processing failed unexpectedly: let a retry of this id through (the core's checks decide what
        it may still do; e.g. a draft that moved on meanwhile answers 409)."""
        self._r.delete(self._key(webhook_id))
