-- Acknowledge entries, but only those this consumer still owns.
-- XACK alone acks whatever is pending, even an entry another replica claimed
-- while we were frozen; here such an ack is refused and reported instead.
-- KEYS[1] stream, KEYS[2] in-queue marks (hash: dedup value -> entry ID)
-- ARGV[1] group, ARGV[2] consumer, then pairs: entry ID, in-queue mark ('' if none)
-- Returns {acked count, {IDs no longer ours}}
local stream, marks, group, consumer = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local acked, lost = 0, {}
for i = 3, #ARGV, 2 do
  local id, mark = ARGV[i], ARGV[i + 1]
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  if p[1] and p[1][2] == consumer then
    acked = acked + redis.call('XACK', stream, group, id)
    if mark ~= '' and redis.call('HGET', marks, mark) == id then
      redis.call('HDEL', marks, mark)
    end
  else
    lost[#lost + 1] = id
  end
end
return {acked, lost}
