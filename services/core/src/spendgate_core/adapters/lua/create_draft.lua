-- include: publish_once
-- Create a draft if none of its fields is locked and the account is under its pending limit, and
-- announce it with publish_once.
-- KEYS: draft, open set, all, account index, status index, expiry index, one lock per changed field, then
--       (when announcing) the event's marker and the stream.
-- ARGV: 1 draft id, 2 JSON, 3 created_at ms, 4 expires_at ms, 5 max pending, 6 number of locks, then (when
--       announcing) the publish-once arguments: 7 marker TTL s, 8 stream MAXLEN, 9 event id, 10 type,
--       11 draft id, 12 payload.
-- Returns {0, ''} when stored, {0, error} when stored but not announced (best effort, as `publish`),
-- {1, {lock position, holder}} for a locked field, {2, pending} for a flood.
local last_lock = 6 + tonumber(ARGV[6])
for i = 7, last_lock do
  local holder = redis.call('GET', KEYS[i])
  if holder then
    return {1, {tostring(i - 6), holder}}
  end
end
local pending = redis.call('SCARD', KEYS[2])
if pending >= tonumber(ARGV[5]) then
  return {2, pending}
end
redis.call('SET', KEYS[1], ARGV[2])
for i = 7, last_lock do
  redis.call('SET', KEYS[i], ARGV[1])
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[4], ARGV[1])
if #KEYS == last_lock then
  return {0, ''}
end
local added = publish_once(KEYS[last_lock + 1], KEYS[last_lock + 2], unpack(ARGV, 7, 12))
if type(added) == 'table' and added.err then
  return {0, added.err}  -- stored, not announced: `reconcile` announces it later
end
return {0, ''}
