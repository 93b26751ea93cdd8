-- every key the script was given gets `ttl` seconds
local function expireAll(ttl)
  for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ttl) end
end
