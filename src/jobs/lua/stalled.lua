--[[
  BullMQ found the job's worker dead (its lock expired) and put it back in the wait list: queued until a
  worker takes it, if the attempt that stalled still holds it (one that has taken it since has a higher
  attempt number). Returns 1 or 0.
]]
--- @include "includes/indexes"

if get('state') ~= 'running' or get('attempts') ~= attempt then return 0 end
redis.call('HDEL', stateKey, 'token')
setState(id, 'queued')
touch(id, tonumber(now), tonumber(ttl), tonumber(ttl))
return 1
