-- Delete consumers that hold no pending entries and have been idle at least
-- ARGV[2] ms, checking and deleting in one step so a consumer that just
-- received an entry is never deleted (XGROUP DELCONSUMER would drop its PEL).
-- KEYS[1] stream; ARGV[1] group, ARGV[2] min idle ms, ARGV[3..] consumers to keep
-- (ourselves; for the ops command, every name a live replica holds a lease on).
-- Returns the deleted consumer names.
local stream, group, min_idle = KEYS[1], ARGV[1], tonumber(ARGV[2])
local keep = {}
for i = 3, #ARGV do keep[ARGV[i]] = true end
local deleted = {}
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', stream, group)) do
  local f = {}
  for j = 1, #c, 2 do f[c[j]] = c[j + 1] end
  if not keep[f['name']] and tonumber(f['pending']) == 0 and tonumber(f['idle']) >= min_idle then
    redis.call('XGROUP', 'DELCONSUMER', stream, group, f['name'])
    deleted[#deleted + 1] = f['name']
  end
end
return deleted
