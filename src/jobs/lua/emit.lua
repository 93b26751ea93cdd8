--[[
  A state event (after a control change that has no data of its own), if the job's stream still exists.
  Returns 1 or 0.
]]
--- @include "includes/event-stream"

if redis.call('EXISTS', eventsKey) == 0 then return 0 end
emit(maxlen, 'state', event)
return 1
