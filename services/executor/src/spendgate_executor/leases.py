"""Per-draft leases in Redis: at most one worker works on a draft at a time, and a dead one's lease lapses.

A lease is `SET <Keys.lease(draft_id)> <token> NX PX <ttl>`, renewed by a background thread while the
work lasts and released (only by its holder) at the end. A worker killed with SIGKILL simply stops
renewing: the lease lapses after `ttl` and the sweep hands the draft to another worker.

A lease is a liveness tool, not the safety net: a worker paused longer than the ttl (a stopped VM, a
long GC) may still be writing when another takes over. Safety comes from the draft store's
compare-and-set on `version` and from the idempotency key on every upstream write.
"""

from __future__ import annotations

import logging
import secrets
import threading
from types import TracebackType

import redis

from spendgate_core.adapters import locks
from spendgate_core.adapters.keys import Keys
from spendgate_core.runtime.periodic import PeriodicTask

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The lease lapsed or was taken over while we worked; stop touching the draft."""


class Lease:
    """A held lease. Use as a context manager: it renews until the block ends, then releases."""

    def __init__(self, client: redis.Redis, *, key: str, token: str, ttl_ms: int) -> None:
        self._r = client
        self.key = key
        self._token = token
        self._ttl_ms = ttl_ms
        self._lost = threading.Event()
        self._renewer = PeriodicTask(
            name=f"lease:{key}", interval_seconds=ttl_ms / 3000, step=self._renew_once
        )

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def ensure(self) -> None:
        """Raise LeaseLost unless Redis says we still hold the lease (checked before every upstream write)."""
        if self._lost.is_set() or self._r.get(self.key) != self._token.encode():
            self._lost.set()
            raise LeaseLost(f"lost the lease {self.key}")

    def check(self) -> None:
        """Raise LeaseLost if the renewer has found the lease lost; no round trip. Enough before a store
        save, which the draft's version compare-and-set guards anyway: a worker that took over and saved
        first makes ours a VersionConflict."""
        if self._lost.is_set():
            raise LeaseLost(f"lost the lease {self.key}")

    def __enter__(self) -> Lease:
        self._renewer.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._renewer.stop(timeout=self._ttl_ms / 1000)
        try:
            locks.release(self._r, self.key, self._token)
        except redis.RedisError:
            log.warning("could not release %s; it lapses on its own", self.key)

    def _renew_once(self) -> None:
        try:
            renewed = locks.renew(self._r, self.key, self._token, ttl_ms=self._ttl_ms)
        except redis.RedisError:
            log.warning("could not renew %s; trying again", self.key)
            return
        if not renewed:
            log.warning("lease %s was lost", self.key)
            self._lost.set()
            self._renewer.finish()


class Leases:
    """Takes per-draft leases on behalf of one worker (`owner` shows up in the lease value for debugging)."""

    def __init__(self, client: redis.Redis, *, owner: str, ttl_seconds: float, keys: Keys) -> None:
        self._r = client
        self._owner = owner
        self._ttl_ms = int(ttl_seconds * 1000)
        self._keys = keys

    def key(self, draft_id: str) -> str:
        return self._keys.lease(draft_id)

    def acquire(self, draft_id: str) -> Lease | None:
        """The lease if nobody holds it, else None."""
        token = f"{self._owner}:{secrets.token_hex(8)}"
        key = self.key(draft_id)
        if not locks.acquire(self._r, key, token, ttl_ms=self._ttl_ms):
            return None
        return Lease(self._r, key=key, token=token, ttl_ms=self._ttl_ms)

    def held(self, draft_id: str) -> bool:
        return bool(self._r.exists(self.key(draft_id)))
