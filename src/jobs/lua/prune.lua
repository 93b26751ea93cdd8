--[[
  Deletes a job whose time is up (its expiresAt at or before now, ms), unless it is still work to do: a
  queued or running job (a long backlog, a long solve) gets another ttl instead.
  Returns 1 (deleted: the caller deletes its data), 2 (extended: the caller extends its data too) or 0.
]]
--- @include "includes/indexes"

local expiresAt = get('expiresAt')
if expiresAt and tonumber(expiresAt) > tonumber(now) then
  redis.call('ZADD', expiryKey, expiresAt, id)
  return 0
end
local state = get('state')
if state and not FINISHED[state] and not get('provisional') then
  touch(id, tonumber(now), tonumber(ttl), tonumber(ttl))
  return 2
end
delete(id)
forgetKey(id)
return 1
