-- An upstream said "slow down": pause the whole group for ARGV[1] ms, extending
-- (never shortening) a pause already on.
-- KEYS[1] pause flag; ARGV[1] ms. Returns the pause left, in ms.
local ms = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if ms > 0 and left < ms then
  redis.call('PSETEX', KEYS[1], ms, '1')
  return ms
end
return math.max(left, 0)
