-- New work for a due set (duework.DueSet.add): once per `once` marker (when its TTL is given), never
-- moving an item already waiting.
-- KEYS: the due set, its attempts hash, the once marker. ARGV: item, due ms, marker TTL s (0: no marker),
-- attempts already made (0: none). Returns 1 when added, else 0.
if ARGV[3] ~= '0' and not redis.call('set', KEYS[3], 1, 'NX', 'EX', ARGV[3]) then return 0 end
local added = redis.call('zadd', KEYS[1], 'NX', ARGV[2], ARGV[1])
if added == 1 and ARGV[4] ~= '0' then redis.call('hset', KEYS[2], ARGV[1], ARGV[4]) end
return added
