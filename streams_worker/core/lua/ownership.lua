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
--   assign  token ttl_ms info n        partition assignment (below)
--
-- assign: the live replicas are the live `consumer:*` leases (one token each). With
-- R of them and n >= R partitions, the replica of rank k (tokens sorted) is due
-- floor(n/R) partitions, plus one if k < n mod R: the targets add up to n, so every
-- partition has exactly one owner once everyone has moved to its target. A replica
-- gives back only what is above its target and takes only free or expired ones, so
-- nothing flaps. Returns {until, index...}. With n < R each replica reads one
-- partition shared through the group: {-1, rank mod n}, holding no partition lease.
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
if op == 'assign' then
  local token, ttl, info, n = ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
  local all = redis.call('HGETALL', KEYS[1])
  local tokens, mine, taken = {}, {}, {}
  for i = 1, #all, 2 do
    local f = all[i]
    local holder, untl, since, cnt = parse(all[i + 1])
    if string.sub(f, 1, 9) == 'consumer:' then
      if untl > now then tokens[#tokens + 1] = holder end
    elseif string.sub(f, 1, 10) == 'partition:' then
      local idx = tonumber(string.sub(f, 11))
      if holder == token then
        mine[#mine + 1] = {idx, since, cnt}  -- ours, even if expired: nobody took it
      elseif untl > now then
        taken[idx] = true
      end
    end
  end
  table.sort(tokens)
  local r, rank = #tokens, nil
  for i, tk in ipairs(tokens) do if tk == token then rank = i - 1 end end
  local target = 0
  if rank ~= nil and n >= r then
    target = math.floor(n / r) + ((rank < n % r) and 1 or 0)
  end
  table.sort(mine, function(a, b) return a[1] < b[1] end)
  while #mine > target do  -- give back only what is above the target
    local gone = table.remove(mine)
    redis.call('HDEL', KEYS[1], 'partition:' .. gone[1])
  end
  if rank ~= nil and n < r then
    return {-1, rank % n}
  end
  if #mine < target then
    local own = {}
    for _, m in ipairs(mine) do own[m[1]] = true end
    -- Start the search where this replica's share would begin, to avoid races.
    local start = (rank or 0) * math.floor(n / math.max(r, 1))
    for k = 0, n - 1 do
      if #mine >= target then break end
      local idx = (start + k) % n
      if not own[idx] and not taken[idx] then mine[#mine + 1] = {idx, now, 0} end
    end
  end
  local out, fields = {now + ttl}, {}
  for _, m in ipairs(mine) do
    fields[#fields + 1] = 'partition:' .. m[1]
    fields[#fields + 1] = token .. '|' .. (now + ttl) .. '|' .. m[2] .. '|' .. (m[3] + 1) .. '|' .. info
    out[#out + 1] = m[1]
  end
  if #fields > 0 then  -- one HSET for all of them: one command a round, not one a partition
    redis.call('HDEL', KEYS[1], fields[1])  -- the first write, never refused under OOM
    redis.call('HSET', KEYS[1], unpack(fields))
  end
  return out
end
return redis.error_reply('ERR unknown ownership operation ' .. tostring(op))
