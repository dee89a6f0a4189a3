-- Release a holder-only lock (locks.release).
-- KEYS: the lock. ARGV: the holder's token. Returns 1 when released, 0 when another token holds it.
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
