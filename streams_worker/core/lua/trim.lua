-- Trim one partition below the oldest entry any group still needs, atomically.
--
-- KEYS[1]  the partition's stream
-- ARGV[1]  "1" for a dry run (compute the boundary, remove nothing)
--
-- For every group the oldest entry it needs is the smaller of its first pending
-- entry and the first entry after its last-delivered-id. The boundary is the
-- minimum over groups; XTRIM MINID removes only entries strictly below it. A stream
-- without any group is left alone: nobody has read it yet. Before trimming, every
-- group is checked for a pending entry below the boundary (there cannot be one by
-- construction; if there is, nothing is removed and the caller is told).
--
-- Returns {trimmed, boundary ("" if none), violations}.
local stream = KEYS[1]
local dry = ARGV[1] == '1'

local function parse(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end

local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end

if redis.call('EXISTS', stream) == 0 then
  return {0, '', 0}
end
local groups = redis.call('XINFO', 'GROUPS', stream)
if #groups == 0 then
  return {0, '', 0}
end

local boundary = nil
local names = {}
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  names[#names + 1] = name
  local ms, seq = parse(last)
  local need = string.format('%.0f-%.0f', ms, seq + 1)
  local summary = redis.call('XPENDING', stream, name)
  if summary[1] > 0 and less(summary[2], need) then
    need = summary[2]
  end
  if boundary == nil or less(need, boundary) then
    boundary = need
  end
end

local violations = 0
for _, name in ipairs(names) do
  local below = redis.call('XPENDING', stream, name, '-', '(' .. boundary, 1)
  violations = violations + #below
end
if violations > 0 or dry then
  return {0, boundary, violations}
end
return {redis.call('XTRIM', stream, 'MINID', boundary), boundary, 0}
