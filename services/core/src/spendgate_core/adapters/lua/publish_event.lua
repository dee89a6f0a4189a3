-- include: publish_once
-- Announce one event on its own (events.publish).
-- KEYS: the (draft, version) marker, the stream. ARGV: marker TTL s, stream MAXLEN, event id, type,
-- draft id, payload. Returns the stream id, or false when announced already; an XADD error is raised.
local added = publish_once(KEYS[1], KEYS[2], unpack(ARGV))
if type(added) == 'table' and added.err then
  return redis.error_reply(added.err)
end
return added
