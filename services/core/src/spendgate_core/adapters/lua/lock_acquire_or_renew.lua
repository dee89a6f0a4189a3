-- Take a lock unless another token holds it; the holder renews it (locks.acquire_or_renew).
-- KEYS: the lock. ARGV: the token, ttl ms. Returns 1 when held, else 0.
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if holder then return 0 end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
