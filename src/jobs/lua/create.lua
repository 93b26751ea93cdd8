--[[
  A submission writes its job's data, with the provisional TTL: the run hash, the first event, and the
  problem blob unless it was written in pieces before (blob ''). One script, not a MULTI: the same
  single-slot step, without the cost of a client-side transaction object per submission. Returns 1.
]]
if blob ~= '' then redis.call('SET', problemKey, blob, 'EX', provisionalTtl) end
redis.call('HSET', runKey, 'resumes', '0')
redis.call('EXPIRE', runKey, provisionalTtl)
redis.call('XADD', eventsKey, 'MAXLEN', '~', maxlen, '*', 'type', 'state', 'data', event)
redis.call('EXPIRE', eventsKey, provisionalTtl)
return 1
