--[[
  The attempt that START let run (token, attempt) takes the job's data. every: its record.every;
  recordLimit: the recorded-iterates limit; inlineBytes: the largest problem blob to return (0: none).
  Returns {outcome, checkpoint JSON, checkpoint record, recorded, last recorded iteration, resumes, the
  problem blob or '' (when started and it is no larger than asked: the worker then needs no GET)};
  outcome is no-problem (the problem blob is gone: the attempt should fail the job), cancel (a cancel was
  requested: the attempt should end the job cancelled) or started.

  A job with a checkpoint resumes from it: its iterates stay, trimmed to end at or before the checkpoint
  and without a tail that was kept only as the previous run's last iterate (not an every-th one, or one
  past the limit), so the resumed run continues the list exactly as an uninterrupted run would have. A
  result left by an attempt that lost the job before it could finish it goes.
]]
--- @include "includes/expire-all"
--- @include "includes/iterates"

local resumes = tonumber(redis.call('HGET', runKey, 'resumes') or '0')
redis.call('HSET', runKey, 'token', token)
if redis.call('EXISTS', problemKey) == 0 then
  expireAll(ttl)
  return {'no-problem', '', '', 0, -1, resumes}
end
redis.call('DEL', resultKey)
if redis.call('EXISTS', cancelKey) == 1 then
  expireAll(ttl)
  return {'cancel', '', '', redis.call('LLEN', iteratesKey), lastRecorded(), resumes}
end
local checkpoint = redis.call('HGET', runKey, 'checkpoint')
local event = '{"state":"running","attempt":' .. attempt .. '}'
if checkpoint then
  local c = tonumber(redis.call('HGET', runKey, 'checkpointIteration'))
  local every, limit = tonumber(every), tonumber(recordLimit)
  while redis.call('LLEN', iteratesKey) > 0 and lastRecorded() > c do redis.call('RPOP', iteratesKey) end
  if redis.call('LLEN', iteratesKey) >= limit then
    redis.call('LTRIM', iteratesKey, 0, limit - 2)
  elseif lastRecorded() == c and c % every ~= 0 then
    redis.call('RPOP', iteratesKey)
  end
  resumes = redis.call('HINCRBY', runKey, 'resumes', 1)
  event = '{"state":"running","attempt":' .. attempt .. ',"resumedFrom":' .. string.format('%d', c) .. '}'
else
  -- no checkpoint: nothing was recorded that a run could continue from
  redis.call('HDEL', runKey, 'progress', 'truncated')
  redis.call('DEL', iteratesKey)
end
emit(maxlen, 'state', event)
expireAll(ttl)
local blob = ''
local inline = tonumber(inlineBytes)
if inline > 0 and redis.call('STRLEN', problemKey) <= inline then blob = redis.call('GET', problemKey) end
return {'started', checkpoint or '', redis.call('HGET', runKey, 'checkpointRecord') or '',
  redis.call('LLEN', iteratesKey), lastRecorded(), resumes, blob}
