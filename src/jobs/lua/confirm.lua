--[[
  The job's data gets the full ttl: a submission is complete (its data was written with the provisional
  TTL), or prune extended a job that is still queued or running. Returns 1, or 0 when the data is gone.
]]
--- @include "includes/expire-all"

if redis.call('EXISTS', runKey) == 0 then return 0 end
expireAll(tonumber(ttl))
return 1
