-- Replay dead-letter entries onto their source stream, atomically per call.
--
-- KEYS[1] dead-letter stream, KEYS[2] source (partition) stream, KEYS[3] in-queue marks
-- (all share one hash tag in a cluster). ARGV[1] now (ms), ARGV[2] the dedup field
-- ('' = no marks), ARGV[3..] dead-letter entry IDs.
--
-- For each ID: re-enqueue every `payload.<name>` field as `<name>`, plus provenance
-- (`replayed_from` = the original entry ID, `replay_count`, `replayed_at`), set the
-- entry's in-queue mark to the new entry ID, and XDEL the dead letter -- all in
-- one script, so an entry is never lost (removed but not re-added) nor duplicated
-- (re-added but still in the dead-letter stream).
--
-- Returns one reply per ID: the new entry ID, or 0 (not in this dead-letter stream),
-- or "!<why>" (left in place: no payload, a packed payload, or another stream's entry).
local PROVENANCE = { replayed_from = true, replay_count = true, replayed_at = true }
local out = {}
local dedup_field = ARGV[2]
for i = 3, #ARGV do
  local dl_id = ARGV[i]
  local found = redis.call('XRANGE', KEYS[1], dl_id, dl_id)
  if #found == 0 then
    table.insert(out, 0)
  else
    local f = found[1][2]
    local fields, mark, source_stream, source_id, count = {}, nil, nil, nil, 0
    local packed = false
    for j = 1, #f, 2 do
      local k, v = f[j], f[j + 1]
      if string.sub(k, 1, 8) == 'payload.' then
        local name = string.sub(k, 9)
        if name == 'replay_count' then count = tonumber(v) or 0 end
        if not PROVENANCE[name] then
          table.insert(fields, name)
          table.insert(fields, v)
          if name == dedup_field then mark = v end
        end
      elseif k == 'payload_packed' then
        packed = true
      elseif k == 'source_stream' then
        source_stream = v
      elseif k == 'source_id' then
        source_id = v
      end
    end
    if packed then
      table.insert(out, '!packed payload (over 3000 fields): replay it by hand')
    elseif #fields == 0 then
      table.insert(out, '!no payload fields')
    elseif source_stream ~= nil and source_stream ~= KEYS[2] then
      table.insert(out, '!belongs to ' .. source_stream)
    else
      table.insert(fields, 'replayed_from')
      table.insert(fields, source_id or dl_id)
      table.insert(fields, 'replay_count')
      table.insert(fields, tostring(count + 1))
      table.insert(fields, 'replayed_at')
      table.insert(fields, ARGV[1])
      local new_id = redis.call('XADD', KEYS[2], '*', unpack(fields))
      if mark ~= nil then
        redis.call('HSET', KEYS[3], mark, new_id)
      end
      redis.call('XDEL', KEYS[1], dl_id)
      table.insert(out, new_id)
    end
  end
end
return out
