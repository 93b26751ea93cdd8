--[[
  The recorded iterates (iteratesKey, a list) and the checkpoint in the run hash (runKey; its fields:
  job-record.ts RUN_FIELDS). An iterate record is a JSON array whose first element is its iteration number.
]]
--- @include "includes/event-stream"

local function recordIteration(record) return tonumber(string.match(record, '^%[(%d+)')) end

local function lastRecorded()
  local record = redis.call('LINDEX', iteratesKey, -1)
  if record then return recordIteration(record) end
  return -1
end

local function dropCheckpoint()
  redis.call('HDEL', runKey, 'checkpoint', 'checkpointRecord', 'checkpointIteration')
end

-- A batch of iterates and the checkpoint they end at (PROGRESS, SEAL_BATCH): the batch's arguments
-- (scripts.ts BATCH) and its records. Idempotent: records at or before the last stored iteration, and a
-- checkpoint not past the stored one, are skipped.
local function storeBatch(maxlen, batchProgress, checkpoint, checkpointIteration, checkpointRecord, truncated,
    records)
  local last = lastRecorded()
  local fresh = {}
  for _, record in ipairs(records) do
    local it = recordIteration(record)
    if it > last then
      fresh[#fresh + 1] = record
      last = it
    end
  end
  -- unpack takes a bounded number of values
  for i = 1, #fresh, 1000 do
    redis.call('RPUSH', iteratesKey, unpack(fresh, i, math.min(i + 999, #fresh)))
  end
  if checkpoint ~= '' then
    local stored = tonumber(redis.call('HGET', runKey, 'checkpointIteration') or '-1')
    if tonumber(checkpointIteration) > stored then
      redis.call('HSET', runKey, 'checkpoint', checkpoint, 'checkpointIteration', checkpointIteration,
        'checkpointRecord', checkpointRecord, 'progress', batchProgress)
      emit(maxlen, 'progress', batchProgress)
    end
  end
  if truncated == '1' then redis.call('HSET', runKey, 'truncated', '1') end
end
