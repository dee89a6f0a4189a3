-- Settle a take (duework.DueSet.succeeded/failed), only while its lease is still the item's score.
-- KEYS: the due set, its attempts hash. ARGV: item, lease ms, next due ms ('' removes the item and its
-- attempt count). Returns 1 when settled, 0 when the lease had passed (nothing changed).
local score = redis.call('zscore', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('zrem', KEYS[1], ARGV[1])
  redis.call('hdel', KEYS[2], ARGV[1])
else
  redis.call('zadd', KEYS[1], ARGV[3], ARGV[1])
end
return 1
