-- Deliver waiting entries whose time has come to this consumer, and keep the others
-- from being claimed as abandoned, in one step per partition.
-- * due (score <= server now): XCLAIM to this consumer (the delivery count goes up
--   by one, as for any redelivery), removed from the waiting set, returned;
-- * held by the waiting consumer and idle >= ARGV[5] ms: still waiting -> idle time
--   reset (XCLAIM JUSTID, count unchanged) so XAUTOCLAIM leaves it alone; no longer
--   in the waiting set (someone deleted the key) -> delivered now, never stranded.
-- An entry acked, deleted or claimed by another consumer meanwhile is just removed.
-- KEYS[1] stream, KEYS[2] waiting set
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] waiting consumer, ARGV[4] limit,
-- ARGV[5] renew after ms
-- Returns {{{id, {field, value, ...}, delivery count}, ...}, waiting count,
--          next due ms or -1, server now ms}
local stream, waiting = KEYS[1], KEYS[2]
local group, consumer, parked = ARGV[1], ARGV[2], ARGV[3]
local limit, renew_after = tonumber(ARGV[4]), tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}

local function take(id)
  redis.call('ZREM', waiting, id)
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  if not p[1] or p[1][2] ~= parked then
    return
  end
  local claimed = redis.call('XCLAIM', stream, group, consumer, 0, id)
  local e = claimed[1]
  if not e or not e[2] then -- deleted from the stream while it waited
    redis.call('XACK', stream, group, id)
    return
  end
  out[#out + 1] = {id, e[2], p[1][4] + 1}
end

if limit > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', waiting, '-inf', now, 'LIMIT', 0, limit)) do
    take(id)
  end
end
for _, row in ipairs(redis.call('XPENDING', stream, group, 'IDLE', renew_after, '-', '+', 1000, parked)) do
  local id = row[1]
  if redis.call('ZSCORE', waiting, id) then
    redis.call('XCLAIM', stream, group, parked, 0, id, 'JUSTID')
  elseif #out < limit then
    take(id)
  end
end
local first = redis.call('ZRANGE', waiting, 0, 0, 'WITHSCORES')
return {out, redis.call('ZCARD', waiting), tonumber(first[2] or -1), now}
