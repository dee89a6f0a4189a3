-- Announce (draft, version) once; a function, included by every script that announces (`-- include:`).
-- The marker is written only after the XADD succeeded: a script is not rolled back when a command fails,
-- and a marker without its event would keep `reconcile` away for 7 days. Returns the stream id, false
-- when announced already, or the XADD's error as a table.
local function publish_once(marker, stream, ttl, maxlen, event_id, event_type, draft_id, payload)
  if redis.call('EXISTS', marker) == 1 then
    return false
  end
  local added = redis.pcall('XADD', stream, 'MAXLEN', '~', maxlen, '*',
                            'id', event_id, 'type', event_type, 'draft_id', draft_id, 'payload', payload)
  if type(added) == 'table' and added.err then
    return added
  end
  redis.call('SET', marker, event_id, 'EX', ttl)
  return added
end
