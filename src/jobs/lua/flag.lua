--[[
  Asks a running job to stop: the flag its worker's next PROGRESS reply carries, announced on the channel
  of the flag's name (the worker follows it). Returns 1.
]]
--- @include "includes/event-stream"

redis.call('SET', cancelKey, '1', 'EX', ttl)
announce(cancelKey, '1')
return 1
