"""Console sessions, kept in Redis so that any approval replica serves any signed-in human.

`Keys.session` (`…:session:<sha256(session id)>`) is a hash:

    principal       the human's name in the principals file
    token_sha256    the digest of the token used to sign in: rotating that token ends its sessions
    csrf            the session's CSRF token, echoed by every form
    expires_at      epoch seconds on the service clock (absolute: a session is never extended)
    flash           a one-shot message for the next page (JSON)
    arm:<draft_id>  this human's confirm token for an armed draft (JSON), never sent to the browser

Redis expires the key with the session. Only the digest of the id is stored, so a copy of Redis holds
no cookie anyone could replay.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import redis

from spendgate_core.adapters import fields
from spendgate_core.adapters.keys import Keys
from spendgate_core.domain.clock import Clock
from spendgate_core.domain.principals import Principal

COOKIE_NAME = "spendgate_session"
_MAX_SESSION_ID = 128  # ours are 43 characters; anything much longer is not ours

FlashLevel = Literal["ok", "info", "error"]


@dataclass(frozen=True)
class Session:
    key: str
    principal: str
    token_sha256: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class Flash:
    level: FlashLevel
    text: str


@dataclass(frozen=True)
class PendingConfirm:
    """What step two needs from step one: the confirm token of this human's arm and its deadline."""

    token: str
    confirm_before: datetime


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class SessionStore:
    def __init__(self, client: redis.Redis, *, clock: Clock, ttl: timedelta, keys: Keys) -> None:
        self._r = client
        self._clock = clock
        self._ttl = ttl
        self._keys = keys

    def key_for(self, session_id: str) -> str:
        return self._keys.session(session_id)

    def start(self, principal: Principal) -> tuple[str, Session]:
        """A new session for `principal`: the id for the cookie (kept nowhere else) and the session."""
        session_id = secrets.token_urlsafe(32)
        expires_at = (self._clock.now() + self._ttl).replace(microsecond=0)  # stored in whole seconds
        session = Session(
            key=self.key_for(session_id),
            principal=principal.name,
            token_sha256=principal.token_sha256,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=expires_at,
        )
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(
            session.key,
            mapping={
                "principal": session.principal,
                "token_sha256": session.token_sha256,
                "csrf": session.csrf_token,
                "expires_at": str(int(expires_at.timestamp())),
            },
        )
        pipe.expire(session.key, self._ttl)
        pipe.execute()
        return session_id, session

    def load(self, session_id: str | None) -> Session | None:
        """The live session for a cookie value, or None (no cookie, unknown, malformed or expired)."""
        if not session_id or len(session_id) > _MAX_SESSION_ID:
            return None
        key = self.key_for(session_id)
        fields = {_text(k): _text(v) for k, v in self._r.hgetall(key).items()}
        try:
            expires_at = datetime.fromtimestamp(int(fields["expires_at"]), UTC)
            session = Session(
                key=key,
                principal=fields["principal"],
                token_sha256=fields["token_sha256"],
                csrf_token=fields["csrf"],
                expires_at=expires_at,
            )
        except (KeyError, ValueError):
            return None
        if self._clock.now() >= expires_at:
            self._r.delete(key)
            return None
        return session

    def end(self, session: Session) -> None:
        self._r.delete(session.key)

    # one-shot messages ------------------------------------------------------------------------------
    def flash(self, session: Session, level: FlashLevel, text: str) -> None:
        self._set(session, "flash", json.dumps({"level": level, "text": text}))

    def take_flash(self, session: Session) -> Flash | None:
        pipe = self._r.pipeline(transaction=True)
        pipe.hget(session.key, "flash")
        pipe.hdel(session.key, "flash")
        raw, _ = pipe.execute()
        if raw is None:
            return None
        data = json.loads(raw)
        return Flash(level=data["level"], text=data["text"])

    # the confirm token between the two steps --------------------------------------------------------
    def keep_confirm(self, session: Session, draft_id: str, pending: PendingConfirm) -> None:
        value = {"token": pending.token, "confirm_before": pending.confirm_before.isoformat()}
        self._set(session, f"arm:{draft_id}", json.dumps(value))

    def pending_confirm(self, session: Session, draft_id: str) -> PendingConfirm | None:
        raw = self._r.hget(session.key, f"arm:{draft_id}")
        if raw is None:
            return None
        data = json.loads(raw)
        return PendingConfirm(
            token=data["token"], confirm_before=datetime.fromisoformat(data["confirm_before"])
        )

    def drop_confirm(self, session: Session, draft_id: str) -> None:
        self._r.hdel(session.key, f"arm:{draft_id}")

    def _set(self, session: Session, field: str, value: str) -> None:
        # Only while the session exists: a write racing a logout must not bring it back without its TTL.
        fields.set_if_exists(self._r, session.key, field, value)
