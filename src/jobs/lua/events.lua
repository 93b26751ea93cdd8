--[[
  An event stream's next page and whether it has ended, read in one step: {the entries after start
  (XRANGE, at most count), the run hash's `closed` field ('' while open), 1 if the run hash exists else 0}.
]]
return {redis.call('XRANGE', eventsKey, start, '+', 'COUNT', count),
  redis.call('HGET', runKey, 'closed') or '', redis.call('EXISTS', runKey)}
