--[[
  The attempt holding token ('' = any: BullMQ failed the job) stores what it ends with, before FINISH
  decides the state: the result and the last progress ('' for none).
  Returns 1, or 0 when another attempt has taken the job's data.
]]
--- @include "includes/expire-all"

if token ~= '' and redis.call('HGET', runKey, 'token') ~= token then return 0 end
if result ~= '' then redis.call('SET', resultKey, result) end
if progress ~= '' then redis.call('HSET', runKey, 'progress', progress) end
expireAll(tonumber(ttl))
return 1
