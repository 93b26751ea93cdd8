--[[
  The attempt holding token gives the job back: queued again. Returns 1, or 0 when it does not hold it.
]]
--- @include "includes/indexes"

if get('token') ~= token then return 0 end
redis.call('HDEL', stateKey, 'token')
setState(id, 'queued')
touch(id, tonumber(now), tonumber(ttl), tonumber(ttl))
return 1
