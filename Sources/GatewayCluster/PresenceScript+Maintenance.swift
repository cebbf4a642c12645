extension PresenceScript {
    /// Leases, sweeps and re-registration (see `PresenceScript` for the design).
    static let maintenance = #"""
        -- Sets `node`'s tabs in `session` to `desired` (field -> value) and publishes who that
        -- made leave (with the roster of those who stayed) and join (with the roster after).
        local function reconcile(session, node, desired, ttl)
          local key, channel = MEMBERS .. session, CHANNEL .. session
          local flat = redis.call('HGETALL', key)
          local before = users_of(flat)
          for i = 1, #flat, 2 do
            if of_node(flat[i], node) and desired[flat[i]] == nil then redis.call('HDEL', key, flat[i]) end
          end
          for field, value in pairs(desired) do redis.call('HSET', key, field, value) end
          local after = users_of(redis.call('HGETALL', key))
          local gone, came, stayed = {}, {}, {}
          for u, r in pairs(before) do if after[u] == nil then gone[#gone + 1] = {u, r} end end
          for u, r in pairs(after) do
            if before[u] == nil then came[#came + 1] = {u, r} else stayed[u] = r end
          end
          if #gone > 0 then publish(key, channel, 'leave', gone, stayed) end
          if #came > 0 then publish(key, channel, 'join', came, after) end
          settle(key, ttl)
        end

        -- node, lease, ttl: the lease for another period, and the TTL of everything the node
        -- has tabs in; reports a lease that was gone (swept, or Redis lost it)
        function ops.renew()
          local node, lease, ttl = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
          local lost = 0
          if not redis.call('ZSCORE', NODES, node) then lost = 1 end
          renew_lease(node, lease, ttl)
          local set = NODESET .. node
          for _, session in ipairs(redis.call('SMEMBERS', set)) do redis.call('PEXPIRE', MEMBERS .. session, ttl) end
          redis.call('PEXPIRE', set, ttl)
          return {'0', 0, lost, {}}
        end

        -- ttl: removes the tabs of every node whose lease expired; replies how many nodes
        function ops.sweep()
          local ttl = tonumber(ARGV[5])
          local dead = redis.call('ZRANGEBYSCORE', NODES, '-inf', '(' .. string.format('%.0f', now_ms()))
          for _, node in ipairs(dead) do
            local set = NODESET .. node
            for _, session in ipairs(redis.call('SMEMBERS', set)) do reconcile(session, node, {}, ttl) end
            redis.call('DEL', set)
            redis.call('ZREM', NODES, node)
          end
          return {'0', #dead, 0, {}}
        end

        -- node, lease, ttl, retire (1: remove the node and its lease), then per tab: session,
        -- connection, user, role. The node's tabs become exactly those.
        function ops.sync()
          local node, lease, ttl, retire = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8] == '1'
          local desired, sessions = {}, {}
          for i = 9, #ARGV, 4 do
            local session = ARGV[i]
            desired[session] = desired[session] or {}
            desired[session][node .. '|' .. ARGV[i + 1]] = cjson.encode({ARGV[i + 2], ARGV[i + 3]})
            sessions[session] = true
          end
          local set = NODESET .. node
          for _, session in ipairs(redis.call('SMEMBERS', set)) do sessions[session] = true end
          redis.call('DEL', set)
          for session in pairs(sessions) do
            reconcile(session, node, desired[session] or {}, ttl)
            if desired[session] then redis.call('SADD', set, session) end
          end
          if retire then
            redis.call('ZREM', NODES, node)
          else
            renew_lease(node, lease, ttl)
            redis.call('PEXPIRE', set, ttl)
          end
          return {'0', 0, 0, {}}
        end

        """#
}
