"""What the Slack channel keeps in Redis, shared by every approval replica: which message shows which draft,
the confirm tokens of armed Slack users (server-side only, never in a message), seen clicks, per-draft locks.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import redis

from spendgate_approvals.slack.client import SIGNATURE_WINDOW_SECONDS, MessageRef
from spendgate_core.adapters import locks
from spendgate_core.adapters.keys import Keys

MESSAGE_TTL = timedelta(days=40)  # outlives any draft: the longest TTL (30 days) plus time to apply
# A signed click replays fine for ±5 minutes (a 10-minute span); remember it well beyond that.
REPLAY_TTL = timedelta(seconds=SIGNATURE_WINDOW_SECONDS * 12)
LOCK_TTL_MS = 15_000


class LockBusy(Exception):
    """Another replica kept the draft's message lock longer than we were willing to wait."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class SlackState:
    def __init__(self, client: redis.Redis, *, keys: Keys) -> None:
        self._r = client
        self._keys = keys

    # the message of each draft ------------------------------------------------------------------------
    def _message_key(self, draft_id: str) -> str:
        return self._keys.slack("msg", draft_id)

    def message(self, draft_id: str) -> tuple[MessageRef, int] | None:
        """The draft's message and the draft version it shows, or None when none was posted."""
        raw = {_text(k): _text(v) for k, v in self._r.hgetall(self._message_key(draft_id)).items()}
        if "channel" not in raw or "ts" not in raw:
            return None
        return MessageRef(channel=raw["channel"], ts=raw["ts"]), int(raw.get("version", "0"))

    def remember_message(self, draft_id: str, ref: MessageRef, *, version: int) -> None:
        key = self._message_key(draft_id)
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(key, mapping={"channel": ref.channel, "ts": ref.ts, "version": version})
        pipe.expire(key, MESSAGE_TTL)
        pipe.execute()

    def shown_version(self, draft_id: str, version: int) -> None:
        self._r.hset(self._message_key(draft_id), "version", version)

    # confirm tokens -----------------------------------------------------------------------------------
    def _token_key(self, draft_id: str, slack_user: str) -> str:
        return self._keys.slack("confirm", draft_id, slack_user)

    def keep_token(self, draft_id: str, slack_user: str, token: str, *, ttl: timedelta) -> None:
        """Keep the arm's confirm token for this Slack user until the arm window ends."""
        self._r.set(self._token_key(draft_id, slack_user), token, px=max(1, int(ttl.total_seconds() * 1000)))

    def token(self, draft_id: str, slack_user: str) -> str | None:
        raw = self._r.get(self._token_key(draft_id, slack_user))
        return None if raw is None else _text(raw)

    def drop_token(self, draft_id: str, slack_user: str) -> None:
        self._r.delete(self._token_key(draft_id, slack_user))

    # replays ------------------------------------------------------------------------------------------
    def first_time(self, *, slack_user: str, action_id: str, action_ts: str, draft_id: str) -> bool:
        """True once per click: a replayed signed request finds its click already seen."""
        click = "\x1f".join((slack_user, action_id, action_ts, draft_id)).encode()
        key = self._keys.slack("seen", hashlib.sha256(click).hexdigest())
        return bool(self._r.set(key, 1, nx=True, ex=REPLAY_TTL))

    # one writer per message ---------------------------------------------------------------------------
    @contextmanager
    def locked(self, draft_id: str, *, wait_seconds: float = 10.0) -> Iterator[None]:
        """Serialise render-and-update of one draft's message across threads and replicas, so the
        last writer always renders the latest state (two updates can otherwise land out of order)."""
        key, owner = self._keys.slack("lock", draft_id), secrets.token_hex(8)
        deadline = time.monotonic() + wait_seconds
        while not locks.acquire(self._r, key, owner, ttl_ms=LOCK_TTL_MS):
            if time.monotonic() > deadline:
                raise LockBusy(f"the Slack message of {draft_id} is locked by another writer")
            time.sleep(0.05)
        try:
            yield
        finally:
            locks.release(self._r, key, owner)
