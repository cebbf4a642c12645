/// The Lua of presence: one script for every operation (`ARGV[1]` names it), so one SCRIPT LOAD
/// per Redis covers them all and every call is an EVALSHA of the same SHA1 (see "Order" in
/// `RedisPresence` for why calls are never re-sent).
///
/// Design (why these structures):
/// - A session's tabs are one hash (`PresenceKeys`), so join, leave and typing each read and
///   change it in one atomic step and publish the event with the roster after the change in
///   the same step: no node can see a roster that disagrees with the event order on the channel.
///   Dedup per user is computed from the hash itself (a user is present while any field names
///   them), so there is no per-user counter to drift.
/// - A node's liveness is its entry in one sorted set (node -> lease expiry by Redis TIME, so
///   node clocks never matter), renewed every lease/3. No separate lease key: it would be a
///   second copy of the same fact, able to disagree. Sweeps (every node runs them) take every
///   node whose expiry passed, remove its tabs from the sessions listed in its set, and publish
///   the leaves: a node killed with SIGKILL has its users gone within lease + sweep interval.
/// - Every event bumps the session's version `#v`, which travels with the event and with every
///   reply, so a node can order what arrives on its two paths (replies, channel) and never go
///   back to an older roster.
/// - `sync` sets a node's tabs to exactly the list it sends (publishing what that changes): at
///   start (clears what a previous process with the same node id left), after its lease was
///   lost (swept while Redis was unreachable, or Redis restarted empty), and after a command
///   failed (what Redis holds may differ from what the node has).
/// Scripts build some key names from prefixes (the sessions of a swept node are only known
/// inside Redis), so this needs one Redis, not Redis Cluster (as the session log does).
///
/// Every reply is `{version, published (0/1) or count, lease lost (0/1), roster}`, the roster
/// flat as user, role, user, role… (`PresenceReply`).
enum PresenceScript {
    static let source = prelude + operations + maintenance + #"""
        return ops[ARGV[1]]()
        """#

    private static let prelude = #"""
        local NODES, MEMBERS, CHANNEL, NODESET = KEYS[1], ARGV[2], ARGV[3], ARGV[4]
        local RANK = {admin = 3, agent = 2, user = 1}
        local ops = {}

        local function shown(a, b)
          local ra, rb = RANK[a] or 0, RANK[b] or 0
          if ra ~= rb then if ra > rb then return a else return b end end
          if a < b then return a else return b end
        end

        local function now_us()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000000 + tonumber(t[2])
        end

        local function now_ms() return math.floor(now_us() / 1000) end

        -- user -> role shown, from a members hash's HGETALL
        local function users_of(flat)
          local users = {}
          for i = 1, #flat, 2 do
            if flat[i] ~= '#v' then
              local m = cjson.decode(flat[i + 1])
              local cur = users[m[1]]
              if cur then users[m[1]] = shown(cur, m[2]) else users[m[1]] = m[2] end
            end
          end
          return users
        end

        local function pairs_of(users)
          local out = {}
          for u, r in pairs(users) do out[#out + 1] = {u, r} end
          return out
        end

        local function flat_of(users)
          local out = {}
          for u, r in pairs(users) do out[#out + 1] = u; out[#out + 1] = r end
          return out
        end

        local function version(key) return redis.call('HGET', key, '#v') or '0' end

        local function publish(key, channel, event, subjects, users)
          local v = string.format('%.0f', math.max(tonumber(version(key)) + 1, now_us()))
          redis.call('HSET', key, '#v', v)
          redis.call('PUBLISH', channel, cjson.encode({e = event, s = subjects, m = pairs_of(users), v = v}))
          return v
        end

        -- a tab of `node`: 'node|digits'
        local function of_node(field, node)
          return string.sub(field, 1, #node + 1) == node .. '|' and string.find(field, '^%d+$', #node + 2) ~= nil
        end

        -- the hash goes once nobody is in it (its version with it); else it lives another TTL
        local function settle(key, ttl)
          local n = redis.call('HLEN', key)
          if n == 0 or (n == 1 and redis.call('HEXISTS', key, '#v') == 1) then
            redis.call('DEL', key)
          else
            redis.call('PEXPIRE', key, ttl)
          end
        end

        local function renew_lease(node, lease, ttl)
          redis.call('ZADD', NODES, now_ms() + lease, node)
          redis.call('PEXPIRE', NODES, ttl)
        end

        """#

    private static let operations = #"""
        -- node, connection, user, role, session, lease, ttl
        function ops.join()
          local node, conn, user, role, session = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
          local lease, ttl = tonumber(ARGV[10]), tonumber(ARGV[11])
          local key, set = MEMBERS .. session, NODESET .. node
          local lost = 0
          if not redis.call('ZSCORE', NODES, node) then
            lost = 1
            renew_lease(node, lease, ttl)
          end
          local before = users_of(redis.call('HGETALL', key))
          redis.call('HSET', key, node .. '|' .. conn, cjson.encode({user, role}))
          local after = users_of(redis.call('HGETALL', key))
          local v, published = version(key), 0
          if before[user] == nil then
            v = publish(key, CHANNEL .. session, 'join', {{user, after[user]}}, after)
            published = 1
          end
          redis.call('SADD', set, session)
          redis.call('PEXPIRE', set, ttl)
          redis.call('PEXPIRE', key, ttl)
          return {v, published, lost, flat_of(after)}
        end

        -- node, connection, session, ttl
        function ops.leave()
          local node, conn, session, ttl = ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
          local key, field = MEMBERS .. session, ARGV[5] .. '|' .. ARGV[6]
          local known = redis.call('HGET', key, field)
          if not known then return {version(key), 0, 0, flat_of(users_of(redis.call('HGETALL', key)))} end
          local gone = cjson.decode(known)
          redis.call('HDEL', key, field)
          local rest = redis.call('HGETALL', key)
          local after = users_of(rest)
          local v, published = version(key), 0
          if after[gone[1]] == nil then
            v = publish(key, CHANNEL .. session, 'leave', {{gone[1], gone[2]}}, after)
            published = 1
          end
          local mine = false
          for i = 1, #rest, 2 do
            if of_node(rest[i], node) then mine = true; break end
          end
          if not mine then redis.call('SREM', NODESET .. node, session) end
          settle(key, ttl)
          return {v, published, 0, flat_of(after)}
        end

        -- node, connection, session
        function ops.typing()
          local key = MEMBERS .. ARGV[7]
          local known = redis.call('HGET', key, ARGV[5] .. '|' .. ARGV[6])
          local users = users_of(redis.call('HGETALL', key))
          if not known then return {version(key), 0, 0, flat_of(users)} end
          local user = cjson.decode(known)[1]
          local v = publish(key, CHANNEL .. ARGV[7], 'typing', {{user, users[user]}}, users)
          return {v, 1, 0, flat_of(users)}
        end

        -- session
        function ops.roster()
          local key = MEMBERS .. ARGV[5]
          return {version(key), 0, 0, flat_of(users_of(redis.call('HGETALL', key)))}
        end

        """#
}
