-- A failed entry starts waiting for its next delivery, atomically: if this consumer
-- still owns it, hand it to the waiting consumer (XCLAIM JUSTID: the delivery count
-- is not incremented, the entry stays in the PEL) and record its due time (server
-- clock) in the partition's waiting set. Nothing is acked: a crash before this
-- script leaves the entry pending under the failed replica, claimed as today.
-- KEYS[1] stream, KEYS[2] waiting set (zset: entry ID -> due ms)
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] waiting consumer, ARGV[4] entry ID,
-- ARGV[5] delay ms
-- Returns {due ms, server now ms, waiting count, earliest due ms}, or false when
-- the entry is no longer ours.
local stream, waiting = KEYS[1], KEYS[2]
local group, consumer, parked, id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local p = redis.call('XPENDING', stream, group, id, id, 1)
if not p[1] or p[1][2] ~= consumer then
  return false
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = now + tonumber(ARGV[5])
redis.call('XCLAIM', stream, group, parked, 0, id, 'JUSTID')
redis.call('ZADD', waiting, due, id)
local first = redis.call('ZRANGE', waiting, 0, 0, 'WITHSCORES')
return {due, now, redis.call('ZCARD', waiting), tonumber(first[2])}
