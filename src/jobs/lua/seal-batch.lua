--[[
  SEAL with the solve's last batch of iterates (what PROGRESS would have written just before it): one call
  instead of two at the end of a job.
  Returns {1, the number of recorded iterates}, or {0, 0} when another attempt has taken the job's data.
]]
--- @include "includes/expire-all"
--- @include "includes/iterates"

if redis.call('HGET', runKey, 'token') ~= token then return {0, 0} end
storeBatch(maxlen, batchProgress, checkpoint, checkpointIteration, checkpointRecord, truncated, records)
if result ~= '' then redis.call('SET', resultKey, result) end
if progress ~= '' then redis.call('HSET', runKey, 'progress', progress) end
expireAll(tonumber(ttl))
return {1, redis.call('LLEN', iteratesKey)}
