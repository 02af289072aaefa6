-- Named ownership leases of one consumer group: one hash, the server's clock.
--
-- KEYS[1] the group's lease hash (field = lease name, e.g. consumer:<name>,
-- partition:<i>, sampler). A value is "token|until_ms|since_ms|renewals|info":
-- who holds it, until when (server time), since when, how often renewed (so a
-- waiting replica can tell a live holder from a dead one), and the holder's
-- description (JSON, shown by `info`/`consumers`).
--
-- ARGV[1] the operation:
--   acquire token ttl_ms info name...  take each name that is free, expired or ours;
--                                      per name {1, until} or {0, current value}
--   renew   token ttl_ms name...       extend the names still ours; per name 1 or 0 (lost)
--   release token name...              drop the names still ours; how many
--   list                               {now_ms, field, value, ...}
--   sweep   older_than_ms              drop leases expired longer ago than that; how many
--
-- Under memory pressure (maxmemory + noeviction) a lease must still be taken and
-- renewed: otherwise every replica fences itself and stops draining, the one thing
-- that frees memory. A value is rewritten in place (a few bytes), and `put` deletes
-- the field before setting it: a script's first write is the one Redis checks
-- against maxmemory (HDEL never is), so the HSET that follows is not refused.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local op = ARGV[1]

local function put(field, value)
  redis.call('HDEL', KEYS[1], field)
  redis.call('HSET', KEYS[1], field, value)
end

local function parse(v)
  local token, untl, since, n, info = string.match(v, '^([^|]*)|(%d+)|(%d+)|(%d+)|(.*)$')
  return token, tonumber(untl), tonumber(since), tonumber(n), info
end

if op == 'acquire' then
  local token, ttl, info = ARGV[2], tonumber(ARGV[3]), ARGV[4]
  local out = {}
  for i = 5, #ARGV do
    local v = redis.call('HGET', KEYS[1], ARGV[i])
    local holder, untl, since, n = nil, 0, now, 0
    if v then holder, untl, since, n = parse(v) end
    if v and holder ~= token and untl > now then
      table.insert(out, {0, v})
    else
      if not v or holder ~= token then since, n = now, 0 end
      put(ARGV[i], token .. '|' .. (now + ttl) .. '|' .. since .. '|' .. n .. '|' .. info)
      table.insert(out, {1, now + ttl})
    end
  end
  return out
elseif op == 'renew' then
  local token, ttl = ARGV[2], tonumber(ARGV[3])
  local out = {}
  for i = 4, #ARGV do
    local v = redis.call('HGET', KEYS[1], ARGV[i])
    local holder, untl, since, n, info
    if v then holder, untl, since, n, info = parse(v) end
    -- Expired but not taken is still ours: nobody else has read under it.
    if v and holder == token then
      put(ARGV[i], token .. '|' .. (now + ttl) .. '|' .. since .. '|' .. (n + 1) .. '|' .. info)
      table.insert(out, 1)
    else
      table.insert(out, 0)
    end
  end
  return out
elseif op == 'release' then
  local token, gone = ARGV[2], 0
  for i = 3, #ARGV do
    local v = redis.call('HGET', KEYS[1], ARGV[i])
    if v and parse(v) == token then
      redis.call('HDEL', KEYS[1], ARGV[i])
      gone = gone + 1
    end
  end
  return gone
elseif op == 'list' then
  local out = {now}
  for _, x in ipairs(redis.call('HGETALL', KEYS[1])) do table.insert(out, x) end
  return out
elseif op == 'sweep' then
  local older, gone = tonumber(ARGV[2]), 0
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local _, untl = parse(all[i + 1])
    if untl and untl + older <= now then
      redis.call('HDEL', KEYS[1], all[i])
      gone = gone + 1
    end
  end
  return gone
end
return redis.error_reply('ERR unknown ownership operation ' .. tostring(op))
