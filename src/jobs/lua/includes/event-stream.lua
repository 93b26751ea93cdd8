--[[
  The job's event stream (eventsKey). Every append is announced on the channel named like the key, which
  has the job's hash tag (its slot) in a Redis Cluster: it wakes whoever follows the job (wakeups.ts).
  Redis 7 only (SPUBLISH); older servers get no push.
]]
local function announce(channel, message)
  if redis.REDIS_VERSION_NUM then redis.call('SPUBLISH', channel, message) end
end

local function emit(maxlen, kind, data)
  announce(eventsKey, redis.call('XADD', eventsKey, 'MAXLEN', '~', maxlen, '*', 'type', kind, 'data', data))
end
