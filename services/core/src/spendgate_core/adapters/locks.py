"""Holder-only Redis locks: the compare-and-act steps every lease and lock of the services shares.

A lock is `SET key <token> NX PX ttl`; only the one who knows the token may renew or release it, so a
holder that paused past its ttl cannot release a lock someone else has taken since. The scripts are
`lua/lock_*.lua`, registered once per client.
"""

from __future__ import annotations

import redis

from spendgate_core.adapters.commands import Command, Runner


def acquire(client: redis.Redis, key: str, token: str, *, ttl_ms: int) -> bool:
    """Take `key` for `ttl_ms` under `token` unless anyone holds it."""
    return bool(client.set(key, token, nx=True, px=ttl_ms))


def acquire_or_renew(client: redis.Redis, key: str, token: str, *, ttl_ms: int) -> bool:
    """Take `key` unless another token holds it; when `token` holds it already, extend it."""
    return Runner.of(client).run(Command(bool, "lock_acquire_or_renew", (key,), (token, ttl_ms)))


def renew(client: redis.Redis, key: str, token: str, *, ttl_ms: int) -> bool:
    """Extend `key` to `ttl_ms` if `token` still holds it; False when the lock was lost."""
    return Runner.of(client).run(Command(bool, "lock_renew", (key,), (token, ttl_ms)))


def release(client: redis.Redis, key: str, token: str) -> bool:
    """Delete `key` if `token` still holds it; False when it lapsed or another token holds it."""
    return Runner.of(client).run(Command(bool, "lock_release", (key,), (token,)))
