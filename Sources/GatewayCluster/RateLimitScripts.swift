import GatewayRedis

/// The Lua of `RedisRateLimiter`: `GCRA.decide` and `GCRA.settle` over several buckets at once,
/// on Redis's clock (`TIME`), so every node counts against the same time. Increments and
/// tolerances come from Swift in whole microseconds; the scripts only add and compare numbers
/// below 2^53, which Lua's doubles hold exactly. Every key written gets a PEXPIRE of the time
/// until its TAT passes (the bucket is full then, the same as no key), so no counter outlives
/// its meaning; a key whose TAT is not ahead of now is deleted instead.
enum RateLimitScripts {
    /// Shared by both scripts: the clock, and the write that always carries an expiry.
    /// `replicate_commands` lets a script that read TIME write on Redis before 5 (a no-op since).
    private static let prelude = """
        if redis.replicate_commands then redis.replicate_commands() end
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
        local function stored(key)
          local tat = tonumber(redis.call('GET', key))
          if tat == nil or tat < now then return now end
          return tat
        end
        local function write(key, tat)
          if tat > now then
            redis.call('SET', key, string.format('%.0f', tat), 'PX', string.format('%.0f', math.ceil((tat - now) / 1000)))
          else
            redis.call('DEL', key)
          end
        end

        """

    /// KEYS[i]: bucket i. ARGV[2i-1]: its increment (µs; negative refunds), ARGV[2i]: its
    /// tolerance (µs). All or nothing. Returns {1, 0, 0} when every bucket took its increment,
    /// else {0, i, wait} for the bucket with the longest wait (µs; the first of equals), having
    /// written nothing.
    static let check = RedisScript(prelude + """
        local tats = {}
        local refused, longest = 0, 0
        for i = 1, #KEYS do
          local increment = tonumber(ARGV[2 * i - 1])
          local tolerance = tonumber(ARGV[2 * i])
          local base = stored(KEYS[i])
          if increment < 0 then
            tats[i] = math.max(now, base + increment)
          else
            local wait = base + math.min(increment, tolerance) - tolerance - now
            if wait > longest then refused, longest = i, wait end
            tats[i] = base + increment
          end
        end
        if refused > 0 then return {0, refused, longest} end
        for i = 1, #KEYS do write(KEYS[i], tats[i]) end
        return {1, 0, 0}
        """)

    /// KEYS[i]: bucket i. ARGV[i]: its adjustment (µs), added unconditionally, never below now.
    /// Returns the number of buckets written.
    static let settle = RedisScript(prelude + """
        for i = 1, #KEYS do
          write(KEYS[i], math.max(now, stored(KEYS[i]) + tonumber(ARGV[i])))
        end
        return #KEYS
        """)
}
