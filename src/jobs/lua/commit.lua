--[[
  A submission is complete: its job is listed as queued with the full TTL, and its Idempotency-Key (if it
  still holds idempotencyRecord) lives as long. A worker's START may have done the listing first.
  Returns the job's state, '' when it is gone (expired, rolled back).
]]
--- @include "includes/indexes"

local state = get('state')
if not state then return '' end
if redis.call('HDEL', stateKey, 'provisional') == 1 then
  list(id, state)
  touch(id, tonumber(now), tonumber(ttl), tonumber(ttl))
end
if idempotencyRecord ~= '' and redis.call('GET', idempotencyKey) == idempotencyRecord then
  redis.call('EXPIRE', idempotencyKey, ttl)
end
return state
