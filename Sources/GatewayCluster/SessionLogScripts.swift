import GatewayRedis

/// `RedisSessionStore`'s scripts: `SessionLogLua.library` followed by each body. Every script takes
/// no KEYS and the same first five ARGV (`SessionLogScripts.common`): prefix, session, max_events,
/// max_transcript_entries, idle_ttl_ms; its own arguments follow. Shared by every store in the
/// process (a `RedisScript` only caches its SHA1, which is the same on every server).
enum SessionLogScripts {
    private static let header = """
    local K = session_keys(ARGV[1], ARGV[2])
    local C = settings(ARGV[3], ARGV[4], ARGV[5])

    """

    private static func script(_ body: String) -> RedisScript {
        RedisScript(SessionLogLua.library + header + body)
    }

    /// The read before a message is admitted: {1, ack} duplicate, {2} busy, else {0, entry...}: the
    /// transcript entries `Transcript.history(limit:)` would pick (unfinished and empty replies left
    /// out), oldest first. ARGV 6: message id, 7: history limit. Writes nothing.
    static let checkMessage = script("""
    local known = redis.call('HGET', K.ids, ARGV[6])
    if known then return { 1, ack_seq(known) } end
    if redis.call('HEXISTS', K.meta, 'turn') == 1 then return { 2 } end
    local limit = tonumber(ARGV[7])
    local all = redis.call('LRANGE', K.tx, 0, -1)
    local picked = {}
    for i = #all, 1, -1 do
      if #picked >= limit then break end
      local ok, entry = pcall(cjson.decode, all[i])
      if ok and (entry.role ~= 'assistant' or (entry.text ~= '' and not entry.streaming)) then picked[#picked + 1] = all[i] end
    end
    local out = { 0 }
    for i = #picked, 1, -1 do out[#out + 1] = picked[i] end
    return out
    """)

    /// Appends a message and its turn's start, unless the id is known ({1, ack}), a turn is active
    /// ({2}) or the turn goes to the cluster queue and the queue holds `queue_limit` turns already
    /// ({3}); then nothing is written. Else {0, ack}. ARGV 6: message id, 7: author, 8: text,
    /// 9: turn, 10: model, 11/12: the message's head/middle, 13/14: turn.start's, 15: queue limit,
    /// 16: the turn's job, queued when 17 is '1'.
    static let acceptMessage = script("""
    local id, author, text, turn, model = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
    local queued = ARGV[17] == '1'
    local known = redis.call('HGET', K.ids, id)
    if known then return { 1, ack_seq(known) } end
    if redis.call('HEXISTS', K.meta, 'turn') == 1 then return { 2 } end
    if queued and redis.call('XLEN', K.queue) >= tonumber(ARGV[15]) then return { 3 } end
    local ts = now_ms()
    local ack = append_event(K, C, ARGV[11], ARGV[12], ts)
    append_event(K, C, ARGV[13], ARGV[14], ts)
    redis.call('HSET', K.ids, id, decimal(ack) .. ' ' .. decimal(ts))
    forget_old_message_ids(K, C, ack + 1, ts)
    redis.call('DEL', K.meta, K.reply)
    redis.call('HSET', K.meta, 'turn', turn, 'msg', id, 'model', model, 'streamed', '0')
    push_transcript(K, C, transcript_entry(id, 'user', author, text, nil, nil, nil))
    if queued then
      redis.call('XADD', K.queue, '*', 'turn', turn, 'session', K.session)
      redis.call('HSET', K.turn(turn), 'session', K.session, 'job', ARGV[16], 'queued_at', decimal(ts))
      redis.call('PEXPIRE', K.turn(turn), C.ttl_ms)
    end
    touch_session(K, C)
    return { 0, ack }
    """)

    /// Appends a delta of the active turn and adds its text to the reply so far; `streamed` tells the
    /// worker pool text went out. Returns the seq, 0 when the turn is not active, -1 when this
    /// writer's delta `n` or a later one of it is already in (a delta that arrived late: see
    /// `AppendPipeline`). ARGV 6: turn, 7: text, 8: writer, 9: n, 10/11: head/middle.
    static let appendDelta = script("""
    local turn, text, writer, n = ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9])
    local meta = redis.call('HMGET', K.meta, 'turn', 'w', 'n')
    if meta[1] ~= turn then return 0 end
    if meta[2] == writer and tonumber(meta[3]) >= n then return -1 end
    local seq = append_event(K, C, ARGV[10], ARGV[11], now_ms())
    if redis.call('APPEND', K.reply, text) == #text then redis.call('PEXPIRE', K.reply, C.ttl_ms) end
    redis.call('HSET', K.meta, 'streamed', '1', 'w', writer, 'n', n)
    -- Six PEXPIREs per token would be most of a delta's work: refresh once half the TTL has gone.
    if redis.call('PTTL', K.seq) < C.ttl_ms / 2 then touch_session(K, C) end
    return seq
    """)

    /// Ends the active turn (`end_active_turn`); returns the seq, 0 when it was not active.
    /// ARGV 6: turn, 7: finish, 8/9: head/middle, 10: the reply's text. An empty text comes from a
    /// node that relayed nothing of the turn (a lost worker's turn ended by whoever reaped it, a
    /// stop before any worker claimed it): the transcript then keeps what Redis saw relayed.
    static let endTurn = script("""
    local text = ARGV[10]
    if text == '' then text = nil end
    return end_active_turn(K, C, ARGV[6], ARGV[7], ARGV[8], ARGV[9], text, now_ms()) or 0
    """)

    /// What a node mirrors, as of one moment. ARGV 6: 'tail' or 'after', 7: the seq after which events
    /// are wanted ('after'). {seq, {frame...}} when 'after' and the stream holds everything after it
    /// (nothing else is needed); otherwise {seq, {frame...}, {tx entry...}, turn, message id, model,
    /// reply}, with the last max_events frames: the seed for a mirror. A 'tail' read is a join: it
    /// counts as activity for the TTL.
    static let read = script("""
    local seq = tonumber(redis.call('GET', K.seq) or '0')
    local after = tonumber(ARGV[7])
    local function frames(entries, first, last, step)
      local out = {}
      for i = first, last, step do out[#out + 1] = entries[i][2][2] end
      return out
    end
    if ARGV[6] == 'after' and after <= seq and seq - after <= C.max_events then
      local entries = redis.call('XRANGE', K.log, decimal(after + 1), '+')
      if #entries == seq - after and (#entries == 0 or entries[1][1] == decimal(after + 1) .. '-1') then
        return { seq, frames(entries, 1, #entries, 1) }
      end
    end
    local tail = redis.call('XREVRANGE', K.log, '+', '-', 'COUNT', C.max_events)
    local meta = redis.call('HMGET', K.meta, 'turn', 'msg', 'model')
    local reply = redis.call('GET', K.reply) or ''
    if ARGV[6] == 'tail' then touch_session(K, C) end
    return { seq, frames(tail, #tail, 1, -1), redis.call('LRANGE', K.tx, 0, -1),
             meta[1] or '', meta[2] or '', meta[3] or '', reply }
    """)

    /// Keeps mirrored sessions from expiring while they have subscribers (as in memory, where a
    /// session with subscribers never expires). ARGV 6...: more session ids, touched the same way.
    static let touch = script("""
    touch_session(K, C)
    for i = 6, #ARGV do touch_session(session_keys(ARGV[1], ARGV[i]), C) end
    return 0
    """)

    /// The common ARGV of every script.
    static func common(_ keys: ClusterKeys, _ session: String, _ settings: RedisSessionStore.Settings) -> [RedisArgument] {
        [RedisArgument(keys.prefix), RedisArgument(session), RedisArgument(settings.maxEvents),
         RedisArgument(settings.maxTranscriptEntries), RedisArgument(settings.idleTTLMillis)]
    }
}
