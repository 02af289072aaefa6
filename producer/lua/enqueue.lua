-- Enqueue a batch of article IDs into one partition, at most once in the queue.
--
-- KEYS[1]  the partition's stream
-- KEYS[2]  the partition's in-queue marks (HASH: article_id -> entry ID)
-- ARGV[1]  "1" to bypass the check (--force), else "0"
-- ARGV[2]  enqueued_at (ms since epoch), the same for the whole batch
-- ARGV[3..5]  the field names: article_id, enqueued_at, trace_id
-- ARGV[6..]  pairs: article_id, trace_id ("" for none)
--
-- An ID whose mark names an entry still in the stream is waiting or pending:
-- a duplicate, answered 0. A mark whose entry is gone (trimmed, deleted, lost in a
-- restart) is stale and ignored. XADD and HSET happen together, so a second
-- producer running the same batch at the same moment sees the first one's mark.
-- Both keys share a hash tag: the script stays in one cluster slot.
local stream, queued = KEYS[1], KEYS[2]
local force = ARGV[1] == '1'
local enqueued_at = ARGV[2]
local f_id, f_at, f_trace = ARGV[3], ARGV[4], ARGV[5]
local out = {}
local n = 0
for i = 6, #ARGV, 2 do
  local article_id, trace_id = ARGV[i], ARGV[i + 1]
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
    local id
    if trace_id ~= '' then
      id = redis.call('XADD', stream, '*', f_id, article_id, f_at, enqueued_at, f_trace, trace_id)
    else
      id = redis.call('XADD', stream, '*', f_id, article_id, f_at, enqueued_at)
    end
    redis.call('HSET', queued, article_id, id)
    out[n] = id
  end
end
return out
