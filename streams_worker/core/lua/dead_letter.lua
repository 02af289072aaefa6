-- Move one entry to the dead-letter stream: XADD there and XACK here, atomically,
-- and only if this consumer still owns it (else another replica is on it).
-- KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] in-queue marks
-- ARGV[1] group, ARGV[2] consumer, ARGV[3] entry ID, ARGV[4] in-queue mark or '',
-- ARGV[5..] field/value pairs of the dead-letter entry
-- Returns the dead-letter entry ID, or false when the entry is not ours.
local stream, dead, marks = KEYS[1], KEYS[2], KEYS[3]
local group, consumer, id, mark = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local p = redis.call('XPENDING', stream, group, id, id, 1)
if not p[1] or p[1][2] ~= consumer then
  return false
end
local dead_id = redis.call('XADD', dead, '*', unpack(ARGV, 5))
redis.call('XACK', stream, group, id)
if mark ~= '' and redis.call('HGET', marks, mark) == id then
  redis.call('HDEL', marks, mark)
end
return dead_id
