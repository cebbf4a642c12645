import GatewayRedis

/// The turn queue's Lua scripts. Times come from Redis `TIME`, never a node's clock, so leases
/// mean the same on every node. Keys are built inside the scripts from the prefix (the layout is
/// `ClusterKeys`'s): fine on one Redis or Sentinel, which is what the gateway scales on; Redis
/// Cluster, which would need every key in KEYS, is not a target.
enum TurnQueueScripts {
    private static let clock = """
        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        """

    /// ARGV: prefix, queue, group, entry id, turn, session, node, lease ms.
    /// Acknowledges and deletes the queue entry whatever happens (it is handled either way); returns
    /// {job, retried} when the turn is still active and not stopped, and takes its lease.
    static let claim = RedisScript(clock + """

        local prefix, queue, group, entry, turn, session, node, lease = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
        redis.call('XACK', queue, group, entry)
        redis.call('XDEL', queue, entry)
        local h = prefix .. ':turn:' .. turn
        if redis.call('HGET', prefix .. ':s:' .. session .. ':meta', 'turn') ~= turn then return false end
        if redis.call('HGET', h, 'stopped') == '1' then return false end
        local job = redis.call('HGET', h, 'job')
        if not job then return false end
        redis.call('ZADD', prefix .. ':leases', now_ms() + lease, turn)
        redis.call('HSET', h, 'owner', node)
        return {job, redis.call('HGET', h, 'retried') or '0'}
        """)

    /// ARGV: prefix, node, lease ms, turn... Extends the leases this node still holds; returns
    /// {gone, taken}, the turns it no longer holds: `gone` have no turn hash (ended, or lost with
    /// the session): the node stops them; `taken` still have one, so the reaper took the lease
    /// while the node could not renew and re-queued the turn or reported it lost: whoever runs or
    /// ends it now is not this node, which drops it without a turn.end.
    static let renew = RedisScript(clock + """

        local prefix, node, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
        local until_ms = now_ms() + lease
        local gone, taken = {}, {}
        for i = 4, #ARGV do
          local turn = ARGV[i]
          local h = prefix .. ':turn:' .. turn
          if redis.call('HGET', h, 'owner') == node and redis.call('ZSCORE', prefix .. ':leases', turn) then
            redis.call('ZADD', prefix .. ':leases', 'XX', until_ms, turn)
          elseif redis.call('EXISTS', h) == 1 then
            table.insert(taken, turn)
          else
            table.insert(gone, turn)
          end
        end
        return {gone, taken}
        """)

    /// ARGV: prefix, queue, group, lease ms, batch. Handles leases that ran out: a turn that
    /// streamed nothing and was not retried yet goes back on the queue; any other is returned as
    /// {session, turn} for the caller to end with `worker_lost` (its lease is re-armed, so if the
    /// caller dies too, the next reap reports it again). Then re-queues entries some consumer read
    /// but never claimed (it died in between): they sit in the group's pending list.
    static let reap = RedisScript(clock + """

        local prefix, queue, group, lease, batch = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
        local leases = prefix .. ':leases'
        local now = now_ms()
        local lost = {}
        for _, turn in ipairs(redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, batch)) do
          local h = prefix .. ':turn:' .. turn
          local session = redis.call('HGET', h, 'session')
          local active = session and redis.call('HGET', prefix .. ':s:' .. session .. ':meta', 'turn') == turn
          if not active then
            redis.call('ZREM', leases, turn)
            redis.call('DEL', h)
          elseif redis.call('HGET', prefix .. ':s:' .. session .. ':meta', 'streamed') ~= '1' and redis.call('HGET', h, 'retried') ~= '1' then
            redis.call('ZREM', leases, turn)
            redis.call('HSET', h, 'retried', '1')
            redis.call('HDEL', h, 'owner')
            redis.call('XADD', queue, '*', 'turn', turn, 'session', session)
          else
            redis.call('ZADD', leases, now + lease, turn)
            redis.call('HSET', h, 'owner', '')
            table.insert(lost, session)
            table.insert(lost, turn)
          end
        end
        local ok, pending = pcall(redis.call, 'XAUTOCLAIM', queue, group, 'reaper', lease, '0-0', 'COUNT', batch)
        if ok then
          for _, item in ipairs(pending[2]) do
            local id, fields = item[1], item[2]
            if fields then redis.call('XADD', queue, '*', unpack(fields)) end
            redis.call('XACK', queue, group, id)
            redis.call('XDEL', queue, id)
          end
        end
        return lost
        """)

    /// ARGV: prefix, session. Tells the owner of the session's active turn to stop it ({'relayed',
    /// turn, owner}); a turn nobody claimed yet is marked so that no worker will ({'unclaimed', turn}),
    /// and the caller ends it. {} when the session has no active turn.
    static let stop = RedisScript("""
        local prefix, session = ARGV[1], ARGV[2]
        local turn = redis.call('HGET', prefix .. ':s:' .. session .. ':meta', 'turn')
        if not turn then return {} end
        local h = prefix .. ':turn:' .. turn
        local owner = redis.call('HGET', h, 'owner')
        if owner and owner ~= '' then
          redis.call('PUBLISH', prefix .. ':node:' .. owner, 'stop ' .. turn)
          return {'relayed', turn, owner}
        end
        redis.call('HSET', h, 'stopped', '1')
        if redis.call('PTTL', h) < 0 then redis.call('PEXPIRE', h, 3600000) end
        return {'unclaimed', turn}
        """)
}
