--[[
  A retry after an internal error starts over: the attempt holding token drops what it recorded.
  Returns 1 or 0.
]]
--- @include "includes/iterates"

if redis.call('HGET', runKey, 'token') ~= token then return 0 end
redis.call('HDEL', runKey, 'progress', 'truncated')
dropCheckpoint()
redis.call('DEL', iteratesKey)
return 1
