"""Hash fields written onto a live key only: a write racing the key's expiry or deletion must not bring
the key back without its TTL (`lua/hset_if_exists.lua`)."""

from __future__ import annotations

import redis

from spendgate_core.adapters.commands import Command, Runner


def set_if_exists(client: redis.Redis, key: str, field: str, value: str) -> bool:
    """HSET `field` of `key` to `value` while `key` exists; False (nothing written) once it is gone."""
    return Runner.of(client).run(Command(bool, "hset_if_exists", (key,), (field, value)))
