--[[
  After FINISH (or CANCEL) decided the job's end (endState): the state and done events are written and
  announced, once (`closed` remembers it: a worker that finds a finished job from BullMQ closes it again,
  in case the one that finished it died first). The problem blob, cancel flag and checkpoint go (no reader
  needs them any more) and the data's TTL restarts.
  Returns 1, or 0 when it was closed already or its data is gone.
]]
--- @include "includes/expire-all"
--- @include "includes/iterates"

if redis.call('EXISTS', runKey) == 0 or redis.call('HEXISTS', runKey, 'closed') == 1 then return 0 end
redis.call('HSET', runKey, 'closed', endState)
redis.call('HDEL', runKey, 'token')
dropCheckpoint()
redis.call('DEL', problemKey, cancelKey)
emit(maxlen, 'state', stateEvent)
emit(maxlen, 'done', doneEvent)
expireAll(tonumber(ttl))
return 1
