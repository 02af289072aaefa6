-- Delete consumers that hold nothing and have been idle at least ARGV[2] ms,
-- atomically with the check (a consumer cannot receive an entry in between).
--
-- KEYS[1] stream. ARGV[1] group, ARGV[2] minimum idle (ms), ARGV[3..] optional
-- consumer names to restrict to. Returns the names deleted.
local only = nil
if #ARGV > 2 then
  only = {}
  for i = 3, #ARGV do only[ARGV[i]] = true end
end
local min_idle = tonumber(ARGV[2])
local deleted = {}
for _, row in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local c = {}
  for i = 1, #row, 2 do c[row[i]] = row[i + 1] end
  if (only == nil or only[c['name']]) and tonumber(c['pending']) == 0
      and tonumber(c['idle']) >= min_idle then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], c['name'])
    table.insert(deleted, c['name'])
  end
end
return deleted
