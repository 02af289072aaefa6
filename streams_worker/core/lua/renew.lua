-- Renew the lease on running entries: reset their idle time so no other replica
-- claims them. XCLAIM alone would also take back an entry another replica has
-- claimed meanwhile; this renews only entries this consumer still owns.
-- JUSTID: the delivery count is not incremented.
-- KEYS[1] stream; ARGV[1] group, ARGV[2] consumer, ARGV[3..] entry IDs
-- Returns {renewed count, {IDs no longer ours}}
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local renewed, lost = 0, {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  if p[1] and p[1][2] == consumer then
    redis.call('XCLAIM', stream, group, consumer, 0, id, 'JUSTID')
    renewed = renewed + 1
  else
    lost[#lost + 1] = id
  end
end
return {renewed, lost}
