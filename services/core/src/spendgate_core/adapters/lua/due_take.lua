-- Take what is due (duework.DueSet.take): lease each item ahead and, when ARGV[4] == '1', count the
-- attempt; over the budget (ARGV[5], 0: none) the item is removed instead.
-- KEYS: the due set, its attempts hash. ARGV: now ms, lease ms, limit, count attempts (1/0), budget.
-- Returns item, attempt, item, attempt, …
local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local out = {}
for _, item in ipairs(due) do
  local attempt = 0
  if ARGV[4] == '1' then attempt = redis.call('hincrby', KEYS[2], item, 1) end
  if ARGV[5] ~= '0' and attempt > tonumber(ARGV[5]) then
    redis.call('zrem', KEYS[1], item)
    redis.call('hdel', KEYS[2], item)
  else
    redis.call('zadd', KEYS[1], ARGV[2], item)
  end
  table.insert(out, item)
  table.insert(out, attempt)
end
return out
