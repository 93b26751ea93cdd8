--[[
  One webhook delivery record for the job's log (a list in its data slot), the last `keep` kept, with the
  TTL its run hash has. A record for a job that is gone is dropped rather than left behind.
  Returns 1, or 0 when the job is gone.
]]
local pttl = redis.call('PTTL', runKey)
if pttl == -2 then return 0 end
redis.call('RPUSH', deliveriesKey, record)
redis.call('LTRIM', deliveriesKey, -tonumber(keep), -1)
if pttl > 0 then redis.call('PEXPIRE', deliveriesKey, pttl) end
return 1
