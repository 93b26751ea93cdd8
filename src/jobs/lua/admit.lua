--[[
  A submission asks for a place, and its job's state hash is made, provisional: not listed, not visible,
  expiring with the provisional TTL unless COMMIT follows. Checks the owner's quota (queued + running +
  admitted, taken in the same step, so two submissions cannot both take the last place) and claims the
  Idempotency-Key.

  idempotencyRecord: what the key is to hold ('' for none); replaceRecord: the record it may hold now ('':
  only a missing key is claimed); maxActive: 0 for no limit; fields: the state hash's field/value pairs.
  Returns {'ok', score}, {'quota', active} or {'taken', the key's record}.
]]
--- @include "includes/indexes"

local t = tonumber(now)
redis.call('ZREMRANGEBYSCORE', ownerPendingKey, '-inf', now)
local max = tonumber(maxActive)
if max > 0 then
  local active = redis.call('ZCARD', ownerByStateKeys.queued) + redis.call('ZCARD', ownerByStateKeys.running)
    + redis.call('ZCARD', ownerPendingKey)
  if active >= max then return {'quota', tostring(active)} end
end
if idempotencyRecord ~= '' then
  local current = redis.call('GET', idempotencyKey)
  if current and current ~= replaceRecord then return {'taken', current} end
  redis.call('SET', idempotencyKey, idempotencyRecord, 'EX', provisionalTtl)
end
-- newest first: creation time, then a counter for jobs created in the same millisecond
local score = int(t * 1000 + redis.call('INCR', seqKey) % 1000)
redis.call('PEXPIRE', seqKey, int(tonumber(ttl) * 1000 + GRACE_MS))
redis.call('HSET', stateKey, 'score', score, 'provisional', '1', unpack(fields))
redis.call('ZADD', ownerPendingKey, int(t + tonumber(provisionalTtl) * 1000), id)
touch(id, t, tonumber(provisionalTtl), tonumber(ttl))
return {'ok', score}
