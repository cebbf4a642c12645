import GatewayCore

/// The Lua every script that writes a session log is built on: `library` first, then the script's
/// body (`SessionLogScripts` has this store's; the turn queue's lease reaper and stop prepend it to
/// theirs and call `end_turn_without_worker`). One copy of the append rules, so a turn ended by
/// the reaper looks exactly like one ended by its worker.
///
/// Keys are named here from the prefix and the session id (`session_keys`, checked against
/// `ClusterKeys` by a test) rather than passed in KEYS, because the turn queue's scripts reach
/// sessions they only learn inside Lua (from a turn's hash). That rules out Redis Cluster, which
/// the key layout does not aim at anyway (a session's keys carry no hash tag).
///
/// Frames are spliced, not encoded, for events Swift encodes (`SessionEventFrameTemplate`); the
/// one frame Lua writes itself, a `turn.end` nobody's worker sends, is escaped by `json_string`
/// exactly as `JSONWriter` escapes, so it too is byte for byte `SessionEvent.encode` (a test checks).
enum SessionLogLua {
    static let library = #"""
-- K (session_keys): K.session, K.seq, K.log, K.meta, K.ids, K.tx, K.reply, K.channel, K.queue,
--   K.leases, and K.turn(id), the key of a turn's hash. Same names as ClusterKeys.
-- C (settings): C.max_events, C.max_tx, C.ttl_ms, numbers; the session store's settings.
local function session_keys(prefix, session)
  local base = prefix .. ':s:' .. session
  return {
    session = session, seq = base .. ':seq', log = base .. ':log', meta = base .. ':meta',
    ids = base .. ':ids', tx = base .. ':tx', reply = base .. ':reply', channel = base,
    queue = prefix .. ':turns', leases = prefix .. ':leases',
    turn = function(id) return prefix .. ':turn:' .. id end,
  }
end

local function settings(max_events, max_tx, ttl_ms)
  return { max_events = tonumber(max_events), max_tx = tonumber(max_tx), ttl_ms = tonumber(ttl_ms) }
end

-- Redis's clock, one for every node: ms since the Unix epoch.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function decimal(n) return string.format('%d', n) end

-- A JSON string as JSONWriter writes it: only ", \, and bytes below 0x20 escaped (\n \r \t by name,
-- the others as \u00xx); '/' and everything else verbatim (cjson would write '\/').
local JSON_ESCAPES = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
local function json_string(s)
  return '"' .. string.gsub(s, '[%z\1-\31"\\]', function(c)
    return JSON_ESCAPES[c] or string.format('\\u%04x', string.byte(c))
  end) .. '"'
end

-- Every key of the session expires idle_ttl after its last write. Call after the script's last write.
local function touch_session(K, C)
  for _, key in ipairs({ K.seq, K.log, K.meta, K.ids, K.tx, K.reply }) do
    redis.call('PEXPIRE', key, C.ttl_ms)
  end
end

-- Appends one event: the next seq (gap-free whoever appends), the frame head..SEQ..middle..TS..'}',
-- the stream entry SEQ-1 (trimmed to about max_events), and the frame published on the session's
-- channel. Returns the seq. Does not touch TTLs (the caller writes more keys first).
local function append_event(K, C, head, middle, ts)
  local seq = redis.call('INCR', K.seq)
  if seq == 1 and redis.call('EXISTS', K.log) == 1 then
    -- The counter went (evicted, deleted) but the stream did not: continue after the stream's last
    -- entry rather than reuse seqs (XADD would refuse an id below it).
    local last = redis.call('XREVRANGE', K.log, '+', '-', 'COUNT', 1)[1]
    if last then
      seq = tonumber(string.match(last[1], '^(%d+)')) + 1
      redis.call('SET', K.seq, seq)
    end
  end
  local frame = head .. decimal(seq) .. middle .. decimal(ts) .. '}'
  redis.call('XADD', K.log, 'MAXLEN', '~', C.max_events, decimal(seq) .. '-1', 'e', frame)
  redis.call('PUBLISH', K.channel, frame)
  return seq
end

-- A transcript entry (the JSON of a snapshot's `messages` item) for K.tx.
local function transcript_entry(id, role, author, text, turn, model, finish)
  local out = { '{"id":', json_string(id), ',"role":', json_string(role), ',"author":', json_string(author),
                ',"text":', json_string(text) }
  if turn then out[#out + 1] = ',"turn":' .. json_string(turn) end
  if model then out[#out + 1] = ',"model":' .. json_string(model) end
  if role == 'assistant' then out[#out + 1] = ',"streaming":false' end
  if finish then out[#out + 1] = ',"finish":' .. json_string(finish) end
  out[#out + 1] = '}'
  return table.concat(out)
end

local function push_transcript(K, C, entry)
  redis.call('RPUSH', K.tx, entry)
  redis.call('LTRIM', K.tx, -C.max_tx, -1)
end

-- The head and middle of a turn.end frame, fields in SessionEvent.encode's order. input_tokens and
-- output_tokens are numbers, estimated a boolean; upstream_finish, error_code and error_message are
-- strings or nil (an error is written when error_code is given).
local function turn_end_frame(session, turn, finish, input_tokens, output_tokens, estimated,
                              upstream_finish, error_code, error_message)
  local head = '{"type":"turn.end","session":' .. json_string(session) .. ',"seq":'
  local out = { ',"turn":', json_string(turn), ',"finish":', json_string(finish),
                ',"usage":{"input_tokens":', decimal(input_tokens), ',"output_tokens":', decimal(output_tokens),
                ',"estimated":', estimated and 'true' or 'false', '}' }
  if upstream_finish then out[#out + 1] = ',"upstream_finish":' .. json_string(upstream_finish) end
  if error_code then
    out[#out + 1] = ',"error":{"code":' .. json_string(error_code) .. ',"message":' .. json_string(error_message or '') .. '}'
  end
  out[#out + 1] = ',"ts":'
  return head, table.concat(out)
end

-- Ends `turn` if it is the session's active turn: appends the turn.end frame (head, middle), clears
-- the turn (meta, reply so far), puts the reply in the transcript (reply_text; nil: the text relayed
-- so far, K.reply), and ends the turn queue's bookkeeping (lease, turn hash). Returns the seq of the
-- turn.end, or false (nothing written) when `turn` is not active.
local function end_active_turn(K, C, turn, finish, head, middle, reply_text, ts)
  local active = redis.call('HMGET', K.meta, 'turn', 'model')
  if active[1] ~= turn then return false end
  local model = active[2] or ''
  if reply_text == nil then reply_text = redis.call('GET', K.reply) or '' end
  local seq = append_event(K, C, head, middle, ts or now_ms())
  redis.call('DEL', K.meta, K.reply)
  push_transcript(K, C, transcript_entry(turn, 'assistant', model, reply_text, turn, model, finish))
  redis.call('ZREM', K.leases, turn)
  redis.call('DEL', K.turn(turn))
  touch_session(K, C)
  return seq
end

-- For turns no worker will end: the lease reaper (finish 'error', error_code 'worker_lost') and a
-- stop before any worker claimed the turn (finish 'cancelled', no error). Usage 0/0, estimated;
-- the transcript keeps what was relayed. Returns the seq of the turn.end, or false if not active.
local function end_turn_without_worker(K, C, turn, finish, error_code, error_message)
  local head, middle = turn_end_frame(K.session, turn, finish, 0, 0, true, nil, error_code, error_message)
  return end_active_turn(K, C, turn, finish, head, middle, nil, now_ms())
end

-- A remembered message id's ack seq (ids values are 'SEQ ACCEPTED_AT_MS').
local function ack_seq(known)
  return tonumber(string.match(known, '^(%d+)'))
end

-- Ids stay while the log holds their message, and at least the retention window; pruned only when
-- they outnumber the log's events, as in MemorySessionStore.
local MESSAGE_ID_RETENTION_MS = \#(SessionState.messageIDRetentionMillis)
local function forget_old_message_ids(K, C, last_seq, now)
  if redis.call('HLEN', K.ids) <= C.max_events then return end
  local first_retained = last_seq - C.max_events + 1
  local all = redis.call('HGETALL', K.ids)
  for i = 1, #all, 2 do
    local seq, at = string.match(all[i + 1], '^(%d+) (%d+)$')
    if seq and tonumber(seq) < first_retained and now - tonumber(at) >= MESSAGE_ID_RETENTION_MS then
      redis.call('HDEL', K.ids, all[i])
    end
  end
end

"""#
}
