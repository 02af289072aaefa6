-- The group's rate limit, GCRA on the server's clock: grant up to ARGV[3] permits
-- (handler starts) in one round trip, never more than the rate allows across every
-- replica together; none while an upstream's pause (KEYS[2], a PX key) is on.
-- KEYS[1] state: the theoretical arrival time (TAT) in microseconds
-- KEYS[2] pause flag set by throttle.lua
-- ARGV[1] emission interval in microseconds (0: no limit, only the pause),
-- ARGV[2] burst (permits that may be granted at once), ARGV[3] permits wanted
-- Returns {granted, ms to wait before asking again (0 when granted), 1 if paused else 0}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then
  return {0, paused, 1}
end
local interval, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if interval <= 0 then
  return {want, 0, 0}
end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then
  tat = now
end
local n = math.floor((now + burst * interval - tat) / interval)
if n > want then
  n = want
end
if n <= 0 then
  return {0, math.max(1, math.ceil((tat + interval - burst * interval - now) / 1000)), 0}
end
tat = tat + n * interval
redis.call('PSETEX', KEYS[1], math.ceil((tat - now) / 1000) + 1000, string.format('%.0f', tat))
return {n, 0, 0}
