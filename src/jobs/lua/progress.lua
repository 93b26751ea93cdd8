--[[
  A batch of iterates (records) from the attempt holding token, with the checkpoint of the batch's last
  iterate ('' for batchProgress and checkpoint: none in this call). Idempotent (a command resent after a
  reconnect changes nothing): records at or before the last stored iteration and a checkpoint not past
  the stored one are skipped.
  Returns {the number of recorded iterates, 1 if a cancel was requested else 0}, or {-1, 0} when another
  attempt owns the job (this one should stop).
]]
--- @include "includes/iterates"

if redis.call('HGET', runKey, 'token') ~= token then return {-1, 0} end
storeBatch(maxlen, batchProgress, checkpoint, checkpointIteration, checkpointRecord, truncated, records)
redis.call('EXPIRE', iteratesKey, ttl)
redis.call('EXPIRE', eventsKey, ttl)
return {redis.call('LLEN', iteratesKey), redis.call('EXISTS', cancelKey)}
