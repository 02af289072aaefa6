-- Entries just claimed with XAUTOCLAIM (their waiting consumer's renewals lapsed,
-- e.g. every replica was down) that are not due yet go back to waiting, with the
-- delivery count XAUTOCLAIM added taken off again; due ones leave the waiting set
-- and are delivered by the caller.
-- KEYS[1] stream, KEYS[2] waiting set
-- ARGV[1] group, ARGV[2] waiting consumer, ARGV[3..] pairs of entry ID, delivery count
-- Returns the IDs put back to wait.
local stream, waiting = KEYS[1], KEYS[2]
local group, parked = ARGV[1], ARGV[2]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local back = {}
for i = 3, #ARGV, 2 do
  local id, count = ARGV[i], tonumber(ARGV[i + 1])
  local due = redis.call('ZSCORE', waiting, id)
  if due and tonumber(due) > now then
    redis.call('XCLAIM', stream, group, parked, 0, id, 'RETRYCOUNT', math.max(count - 1, 0), 'JUSTID')
    back[#back + 1] = id
  elseif due then
    redis.call('ZREM', waiting, id)
  end
end
return back
