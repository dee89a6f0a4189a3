-- Extend a holder-only lock (locks.renew).
-- KEYS: the lock. ARGV: the holder's token, ttl ms. Returns 1 when renewed, 0 when the token lost it.
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
