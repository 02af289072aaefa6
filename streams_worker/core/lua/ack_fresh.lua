-- Acknowledge entries that cannot have changed owner: each was delivered to (or
-- renewed by) this consumer less than half the claim threshold ago, so no other
-- consumer could have claimed it. One XACK for the batch, then clear the
-- producer's in-queue marks that still point at these entries.
-- KEYS[1] stream, KEYS[2] in-queue marks; ARGV[1] group, then pairs: entry ID, in-queue mark
-- Returns the number acked.
local stream, marks, group = KEYS[1], KEYS[2], ARGV[1]
local ids = {}
for i = 2, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end
local acked = redis.call('XACK', stream, group, unpack(ids))
for i = 2, #ARGV, 2 do
  local mark = ARGV[i + 1]
  if mark ~= '' and redis.call('HGET', marks, mark) == ARGV[i] then
    redis.call('HDEL', marks, mark)
  end
end
return acked
