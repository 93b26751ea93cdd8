--[[
  A worker's attempt (token, attempt number, holder) takes a job. A provisional job (its submission has
  not completed yet, but BullMQ has it, so it got that far) is listed from here on.
  Returns {outcome, the state it had}; outcome is missing (expired or deleted), finished or started.
]]
--- @include "includes/indexes"

local state = get('state')
if not state then return {'missing', ''} end
if FINISHED[state] then return {'finished', state} end
redis.call('HDEL', stateKey, 'provisional')
redis.call('HSET', stateKey, 'token', token, 'attempts', attempt, 'holder', holder, 'recordLimit', recordLimit)
redis.call('HSETNX', stateKey, 'startedAt', now)
setState(id, 'running')
touch(id, tonumber(now), tonumber(ttl), tonumber(ttl))
return {'started', state}
