-- Enqueue a batch of article IDs into one partition, at most once in the queue.
--
-- KEYS[1]  the partition's stream
-- KEYS[2]  the partition's in-queue marks (HASH: article_id -> entry ID)
-- ARGV[1]  "1" to bypass the check (--force), else "0"
-- ARGV[2]  the article_id field name
-- ARGV[3]  k: how many field/value pairs every entry of the batch carries
-- ARGV[4 .. 3+2k]  those pairs: enqueued_at, and trace_id, traceparent and
--                  tracestate when set (the same for the whole batch)
-- ARGV[4+2k ..]  the article IDs
--
-- An ID whose mark names an entry still in the stream is waiting or pending:
-- a duplicate, answered 0. A mark whose entry is gone (trimmed, deleted, lost in a
-- restart) is stale and ignored. XADD and HSET happen together, so a second
-- producer running the same batch at the same moment sees the first one's mark.
-- Both keys share a hash tag: the script stays in one cluster slot.
local stream, queued = KEYS[1], KEYS[2]
local force = ARGV[1] == '1'
local f_id = ARGV[2]
local k = tonumber(ARGV[3])
local common = {}
for i = 1, 2 * k do
  common[i] = ARGV[3 + i]
end
local out = {}
local n = 0
for i = 4 + 2 * k, #ARGV do
  local article_id = ARGV[i]
  local duplicate = false
  if not force then
    local mark = redis.call('HGET', queued, article_id)
    if mark and #redis.call('XRANGE', stream, mark, mark, 'COUNT', 1) > 0 then
      duplicate = true
    end
  end
  n = n + 1
  if duplicate then
    out[n] = 0
  else
    local id = redis.call('XADD', stream, '*', f_id, article_id, unpack(common))
    redis.call('HSET', queued, article_id, id)
    out[n] = id
  end
end
return out
