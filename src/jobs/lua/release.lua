--[[
  A submission failed: its job, place and Idempotency-Key (if it still holds idempotencyRecord) go.
  Returns 1.
]]
--- @include "includes/indexes"

delete(id)
if idempotencyRecord ~= '' and redis.call('GET', idempotencyKey) == idempotencyRecord then
  redis.call('DEL', idempotencyKey)
end
return 1
