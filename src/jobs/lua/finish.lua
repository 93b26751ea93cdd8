--[[
  The end of a job: endState, with errorJson ('' for none). token '' finishes it whoever holds it (BullMQ
  itself failed the job). When bucket is not '', the solve's time (seconds) goes into the histogram in the
  same step, so it counts exactly the solves that finished a job.
  Returns 1, or 0 when it was finished already or another attempt holds it.
]]
--- @include "includes/indexes"

local state = get('state')
if not state or FINISHED[state] then return 0 end
if token ~= '' and get('token') ~= token then return 0 end
redis.call('HSET', stateKey, 'finishedAt', now)
if errorJson ~= '' then redis.call('HSET', stateKey, 'error', errorJson) end
redis.call('HDEL', stateKey, 'token', 'provisional')
setState(id, endState)
touch(id, tonumber(now), tonumber(ttl), tonumber(ttl))
if bucket ~= '' then
  redis.call('HINCRBY', solveSecondsKey, bucket, 1)
  redis.call('HINCRBY', solveSecondsKey, 'count', 1)
  redis.call('HINCRBYFLOAT', solveSecondsKey, 'sum', seconds)
  redis.call('EXPIRE', solveSecondsKey, ttl)
end
return 1
