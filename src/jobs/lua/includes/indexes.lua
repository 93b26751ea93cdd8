--[[
  The indexes a job is listed in (control slot): all jobs and jobs by state, the same per owner, the
  owner's pending reservations, and the expiry index. A control script moves the job's entries in the
  same step as it changes its state, so the state and what lists and counts it never disagree.
]]
--- @include "includes/state-hash"

-- every index key, for removing the job from all of them and for their TTL
local INDEXES = { allKey, expiryKey, ownerAllKey, ownerPendingKey }
for _, s in ipairs(STATES) do
  INDEXES[#INDEXES + 1] = byStateKeys[s]
  INDEXES[#INDEXES + 1] = ownerByStateKeys[s]
end

-- the job listed under `state` only (global and owner's sets), no longer a pending reservation
local function list(id, state)
  local score = get('score')
  for _, s in ipairs(STATES) do
    if s == state then
      redis.call('ZADD', byStateKeys[s], score, id)
      redis.call('ZADD', ownerByStateKeys[s], score, id)
    else
      redis.call('ZREM', byStateKeys[s], id)
      redis.call('ZREM', ownerByStateKeys[s], id)
    end
  end
  redis.call('ZADD', allKey, score, id)
  redis.call('ZADD', ownerAllKey, score, id)
  redis.call('ZREM', ownerPendingKey, id)
end

local function unlist(id)
  for _, key in ipairs(INDEXES) do redis.call('ZREM', key, id) end
end

local function setState(id, state)
  redis.call('HSET', stateKey, 'state', state)
  list(id, state)
end

-- The job expires `seconds` after `now` (ms); prune deletes it then. The indexes live a full ttl past
-- their last change (they only ever lengthen).
local function touch(id, now, seconds, ttl)
  local expiresAt = int(now + seconds * 1000)
  redis.call('HSET', stateKey, 'expiresAt', expiresAt)
  redis.call('ZADD', expiryKey, expiresAt, id)
  redis.call('PEXPIREAT', stateKey, int(now + seconds * 1000 + GRACE_MS))
  for _, key in ipairs(INDEXES) do redis.call('PEXPIRE', key, int(ttl * 1000 + GRACE_MS)) end
end

-- the job's state hash and index entries go
local function delete(id)
  redis.call('DEL', stateKey)
  unlist(id)
end

-- the job's Idempotency-Key goes, if it still names this job (a later submission may have taken it)
local function forgetKey(id)
  local record = redis.call('GET', idempotencyKey)
  if record and cjson.decode(record).id == id then redis.call('DEL', idempotencyKey) end
end
