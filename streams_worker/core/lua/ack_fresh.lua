-- Acknowledge entries that cannot have changed owner: each was delivered to (or
-- renewed by) this consumer less than half the claim threshold ago, so no other
-- consumer could have claimed it. One XACK for the batch, then clear the
-- producer's in-queue marks that still point at these entries: one HMGET and at
-- most one HDEL for the batch (a call per entry from Lua cost more than the XACK).
-- KEYS[1] stream, KEYS[2] in-queue marks; ARGV[1] group, then pairs: entry ID, in-queue mark
-- Returns the number acked.
local stream, marks, group = KEYS[1], KEYS[2], ARGV[1]
local ids, names, owners = {}, {}, {}
for i = 2, #ARGV, 2 do
  ids[#ids + 1] = ARGV[i]
  if ARGV[i + 1] ~= '' then
    names[#names + 1] = ARGV[i + 1]
    owners[#owners + 1] = ARGV[i]
  end
end
local acked = redis.call('XACK', stream, group, unpack(ids))
if #names > 0 then
  local current = redis.call('HMGET', marks, unpack(names))
  local clear = {}
  for j = 1, #names do
    if current[j] == owners[j] then clear[#clear + 1] = names[j] end
  end
  if #clear > 0 then redis.call('HDEL', marks, unpack(clear)) end
end
return acked
