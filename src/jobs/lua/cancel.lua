--[[
  A client cancels. A queued job is cancelled here and now (with errorJson); a running one is left to its
  worker (the caller raises the job's cancel flag: FLAG).
  Returns missing, finished, running or cancelled.
]]
--- @include "includes/indexes"

local state = get('state')
if not state then return 'missing' end
if FINISHED[state] then return 'finished' end
if state == 'running' then return 'running' end
redis.call('HSET', stateKey, 'finishedAt', now, 'error', errorJson)
setState(id, 'cancelled')
touch(id, tonumber(now), tonumber(ttl), tonumber(ttl))
return 'cancelled'
