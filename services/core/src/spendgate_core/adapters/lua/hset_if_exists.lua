-- Set a hash field only while the hash exists (fields.set_if_exists): a write racing the key's expiry or
-- deletion must not bring it back without its TTL.
-- KEYS: the hash. ARGV: field, value. Returns 1 when set, 0 when the hash is gone.
if redis.call('exists', KEYS[1]) == 1 then
  redis.call('hset', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
