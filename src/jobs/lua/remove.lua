--[[
  Deletes a finished job's state, index entries and Idempotency-Key, if owner owns it (the caller then
  deletes its data). Returns not-found, running or deleted.
]]
--- @include "includes/indexes"

local state = get('state')
if not state or get('owner') ~= owner or get('provisional') then return 'not-found' end
if not FINISHED[state] then return 'running' end
delete(id)
forgetKey(id)
return 'deleted'
