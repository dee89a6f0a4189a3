"""Holder-only Redis locks: the compare-and-act scripts every lease and lock of the services shares.

A lock is `SET key <token> NX PX ttl`; only the one who knows the token may renew or release it, so a
holder that paused past its ttl cannot release a lock someone else has taken since.
"""

from __future__ import annotations

# Release `KEYS[1]` if it still holds the token `ARGV[1]`: 1 when released, else 0.
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

# Extend `KEYS[1]` to `ARGV[2]` ms if it still holds the token `ARGV[1]`: 1 when renewed, else 0.
RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)

# Take `KEYS[1]` for `ARGV[2]` ms unless another token holds it; the holder renews. 1 when held, else 0.
ACQUIRE_OR_RENEW = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if holder then return 0 end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
