--[[
  The job's state hash (stateKey; its fields: job-record.ts STATE_FIELDS). Times are passed and stored as
  strings of integers: a Lua number prints with 14 digits.
]]
local function get(field) return redis.call('HGET', stateKey, field) end
local function int(x) return string.format('%d', x) end
