-- Compare-and-set append of a batch of ledger entries. Appends only if the head is the one the batch was
-- built on and the list is as long as that head says, so the chain never forks and never grows on top of
-- tampered storage.
-- KEYS: entries, head, then one account index per entry that has an account (in entry order).
-- ARGV: expected head ('' = none), expected length, new head, n, the n entries, then one seq per index key.
-- Returns {1, ''} on success, {0, current head} when another writer won, {-1, length} on a length mismatch.
local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then
  return {0, head}
end
local length = redis.call('LLEN', KEYS[1])
if length ~= tonumber(ARGV[2]) then
  return {-1, tostring(length)}
end
local n = tonumber(ARGV[4])
redis.call('RPUSH', KEYS[1], unpack(ARGV, 5, 4 + n))
redis.call('SET', KEYS[2], ARGV[3])
for i = 3, #KEYS do
  redis.call('RPUSH', KEYS[i], ARGV[4 + n + i - 2])
end
return {1, ''}
