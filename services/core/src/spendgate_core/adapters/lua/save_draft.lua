-- Save a draft if its stored version is the expected one, keeping every index and the envelope in step.
-- KEYS: draft, envelope, open set, expiry index, new status index, the draft's held envelope member, then
--       one lock per changed field.
-- ARGV: 1 id, 2 JSON, 3 expected version, 4 new status, 5 created_at ms, 6 status index prefix,
--       7 leaves the open set (0/1), 8 releases its locks (0/1), 9 envelope amount it consumes now,
--       10 reservation time ms ('' when not reserving), 11 start of the 24h window ms ('' likewise),
--       12 envelope cap, 13 increase to reserve, 14 how long the held-member key lives (ms),
--       15 the statuses that may hold a reservation, as ",a,b,".
-- Envelope members are `{id}:{amount}` scored by when they were reserved; a member keeps its score
-- however often the draft is saved, so an increase counts for 24h from when it went out. The member a
-- draft holds ('' for none) is also kept under its own key, a little longer than members count, so a
-- save finds it in O(1) instead of scanning every reservation of the account.
-- The old status index is named from the stored draft and the prefix (ARGV 6), a key not in KEYS: it is
-- in the same namespace, so a hash-tagged one keeps it in the slot of the others.
-- Returns {0, ''} saved, {1, ''} no such draft, {2, stored version} conflict, {3, used} over the envelope.
local raw = redis.call('GET', KEYS[1])
if not raw then
  return {1, ''}
end
local current = cjson.decode(raw)
if tonumber(current.version) ~= tonumber(ARGV[3]) then
  return {2, tostring(current.version)}
end
local held = redis.call('GET', KEYS[6])
if not held and string.find(ARGV[15], ',' .. current.status .. ',', 1, true) then
  -- Reserved before held keys existed (an upgrade with applies in flight): find it the old way, once.
  local prefix = ARGV[1] .. ':'
  for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if string.sub(member, 1, #prefix) == prefix then
      held = member
      break
    end
  end
end
local held_score = held and held ~= '' and redis.call('ZSCORE', KEYS[2], held)
if not held_score then
  held = nil  -- holds nothing, or its reservation is over a day old and trimmed
end
local reserving = ARGV[10] ~= ''
if reserving and tonumber(ARGV[13]) > 0 then
  local used = 0
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[11], '+inf')) do
    used = used + tonumber(string.match(member, ':(%-?%d+)$'))
  end
  if used + tonumber(ARGV[13]) > tonumber(ARGV[12]) then
    return {3, tostring(used)}
  end
end
redis.call('SET', KEYS[1], ARGV[2])
if current.status ~= ARGV[4] then
  redis.call('ZREM', ARGV[6] .. current.status, ARGV[1])
  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
end
if ARGV[7] == '1' then
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
end
if ARGV[8] == '1' then
  for i = 7, #KEYS do
    if redis.call('GET', KEYS[i]) == ARGV[1] then
      redis.call('DEL', KEYS[i])
    end
  end
end
if reserving or held then
  if held then
    redis.call('ZREM', KEYS[2], held)
  end
  local member = ARGV[1] .. ':' .. ARGV[9]
  if tonumber(ARGV[9]) > 0 then
    redis.call('ZADD', KEYS[2], reserving and ARGV[10] or held_score, member)
  else
    member = ''  -- known to hold nothing, so later saves need not look
  end
  redis.call('SET', KEYS[6], member, 'PX', ARGV[14])
  if reserving then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[11])
  end
end
return {0, ''}
