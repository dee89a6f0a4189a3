-- Count one transient upstream failure of an account (circuit.CircuitBreaker.record_failure).
-- Closed: count it and open at the threshold. Half-open (cool-down over): the probe failed, open again.
-- Open: failures of attempts already in flight do not extend the cool-down.
-- KEYS: state hash, probe key, accounts set. ARGV: now ms, threshold, cool-down ms, account.
-- Returns 1 when the circuit is (now) open, else 0.
redis.call('sadd', KEYS[3], ARGV[4])
local open_until = tonumber(redis.call('hget', KEYS[1], 'open_until') or '0')
local now = tonumber(ARGV[1])
if open_until > 0 then
  if now >= open_until then
    redis.call('hset', KEYS[1], 'open_until', now + tonumber(ARGV[3]))
    redis.call('del', KEYS[2])
  end
  return 1
end
local failures = redis.call('hincrby', KEYS[1], 'failures', 1)
if failures >= tonumber(ARGV[2]) then
  redis.call('hset', KEYS[1], 'open_until', now + tonumber(ARGV[3]))
  return 1
end
return 0
