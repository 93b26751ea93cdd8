--[[
  What a view of the job needs from its data, in one call: {progress, resumes, truncated ('' for none),
  the iterates count, the result JSON ('' for none, or not asked for: withResult is not 1)}.
]]
local run = redis.call('HMGET', runKey, 'progress', 'resumes', 'truncated')
local result = ''
if withResult == '1' then result = redis.call('GET', resultKey) or '' end
return {run[1] or '', run[2] or '', run[3] or '', redis.call('LLEN', iteratesKey), result}
