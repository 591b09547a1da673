package redisstore

import "github.com/redis/go-redis/v9"

// takeScript decides one request. Times are microseconds from Redis TIME.
// Numbers passed to redis.call are integral and below 2^53, which Redis
// formats exactly (Lua's own tostring would not: it keeps 14 digits).
// KEYS[1] key; ARGV: algorithm, limit, period (µs), burst, cost.
// Returns {allowed, remaining, retry_after_us, reset_after_us}.
var takeScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local key = KEYS[1]
local alg = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local cost = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

if alg == 0 then
  local T = math.ceil(period / limit)
  local tau = burst * T
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  if cost > burst then
    return {0, math.floor((now + tau - tat) / T), period, tat - now}
  end
  local newtat = tat + cost * T
  local allow_at = newtat - tau
  if now < allow_at then
    return {0, math.floor((now + tau - tat) / T), allow_at - now, tat - now}
  end
  if newtat > now then
    redis.call('SET', key, newtat, 'PX', math.ceil((newtat - now) / 1000))
  end
  return {1, math.floor((now + tau - newtat) / T), 0, newtat - now}
end

local ws = now - (now % period)
if alg == 2 then
  -- One counter per window, expiring at the window's end (rounded up to the
  -- millisecond Redis keeps expiry in).
  local reset = ws + period - now
  -- A key left from the window before (its expiry, kept in whole
  -- milliseconds, can fall just after this window began) counts nothing
  -- in this one: drop it. Below 4 ms the two expiries are too close to
  -- tell apart by PTTL.
  if period >= 4000 then
    local pttl = redis.call('PTTL', key)
    if pttl >= 0 and now + pttl * 1000 < ws + period - 1000 then redis.call('DEL', key) end
  end
  if cost == 0 or cost > limit then
    local cur = tonumber(redis.call('GET', key) or '0')
    if cost == 0 then return {1, limit - cur, 0, reset} end
    return {0, limit - cur, period, reset}
  end
  local cur = redis.call('INCRBY', key, cost)
  if cur == cost then
    redis.call('PEXPIREAT', key, math.ceil((ws + period) / 1000))
  end
  if cur > limit then
    redis.call('DECRBY', key, cost)
    return {0, limit - (cur - cost), reset, reset}
  end
  return {1, limit - cur, 0, reset}
end

local v = redis.call('HMGET', key, 'w', 'c', 'p')
local w, cur, prev = tonumber(v[1] or '-1'), tonumber(v[2] or '0'), tonumber(v[3] or '0')
if w ~= ws then
  if w == ws - period then prev = cur else prev = 0 end
  cur = 0
end
local elapsed = now - ws
local est = prev * (period - elapsed) / period + cur
local function resetafter(c)
  if c > 0 then return ws + 2 * period - now end
  if prev > 0 then return ws + period - now end
  return 0
end
if est + cost > limit then
  local rem = math.floor(limit - est)
  if rem < 0 then rem = 0 end
  local retry
  if cost > limit then
    retry = period
  elseif cur + cost > limit then
    retry = (ws + period - now) + math.ceil((1 - (limit - cost) / cur) * period)
  else
    retry = ws + math.ceil((1 - (limit - cost - cur) / prev) * period) - now
    if retry < 1 then retry = 1 end
  end
  return {0, rem, retry, resetafter(cur)}
end
cur = cur + cost
if cost > 0 or w ~= ws then
  redis.call('HSET', key, 'w', ws, 'c', cur, 'p', prev)
  redis.call('PEXPIRE', key, math.ceil((ws + 2 * period - now) / 1000))
end
local rem = math.floor(limit - est - cost)
if rem < 0 then rem = 0 end
return {1, rem, 0, resetafter(cur)}
`)

// leaseScript takes up to want units of allowance on one key at once, for
// the lease mode. It keeps the same state as takeScript, so exact and
// leasing stores may share keys. A grant is at least need (else nothing is
// taken) and at most want; a refusal's retry is the wait for want, so that
// a replica that missed out sits out until a whole batch is there instead
// of polling for each unit as it refills.
// KEYS[1] key; ARGV: algorithm, limit, period (µs), burst, want, need.
// Returns {granted, remaining, retry_after_us, reset_after_us,
// window_end_us}; window_end_us is 0 for GCRA, else the time left in the
// window, beyond which a window algorithm's lease must not be spent.
var leaseScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local key = KEYS[1]
local alg = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local want = tonumber(ARGV[5])
local need = tonumber(ARGV[6])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if alg == 0 then
  local T = math.ceil(period / limit)
  local tau = burst * T
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local avail = math.floor((now + tau - tat) / T)
  if need > burst then return {0, avail, period, tat - now, 0} end
  if avail < need then
    local w = want
    if w > burst then w = need end
    return {0, avail, tat + w * T - tau - now, tat - now, 0}
  end
  local g = math.min(want, avail)
  local newtat = tat + g * T
  redis.call('SET', key, newtat, 'PX', math.ceil((newtat - now) / 1000))
  return {g, avail - g, 0, newtat - now, 0}
end
local ws = now - (now % period)
local wend = ws + period - now
if alg == 2 then
  -- A key left from the window before (its expiry, kept in whole
  -- milliseconds, can fall just after this window began) counts nothing
  -- in this one: drop it. Below 4 ms the two expiries are too close to
  -- tell apart by PTTL.
  if period >= 4000 then
    local pttl = redis.call('PTTL', key)
    if pttl >= 0 and now + pttl * 1000 < ws + period - 1000 then redis.call('DEL', key) end
  end
  local cur = tonumber(redis.call('GET', key) or '0')
  local avail = limit - cur
  if need > limit then return {0, avail, period, wend, wend} end
  if avail < need then return {0, avail, wend, wend, wend} end
  local g = math.min(want, avail)
  local c = redis.call('INCRBY', key, g)
  if c == g then
    redis.call('PEXPIREAT', key, math.ceil((ws + period) / 1000))
  end
  return {g, limit - c, 0, wend, wend}
end
local v = redis.call('HMGET', key, 'w', 'c', 'p')
local w, cur, prev = tonumber(v[1] or '-1'), tonumber(v[2] or '0'), tonumber(v[3] or '0')
if w ~= ws then
  if w == ws - period then prev = cur else prev = 0 end
  cur = 0
end
local elapsed = now - ws
local est = prev * (period - elapsed) / period + cur
local function resetafter(c)
  if c > 0 then return ws + 2 * period - now end
  if prev > 0 then return ws + period - now end
  return 0
end
local avail = math.floor(limit - est)
if avail < 0 then avail = 0 end
if avail < need then
  local c = want
  if c > limit then c = need end
  local retry
  if c > limit then
    retry = period
  elseif cur + c > limit then
    retry = wend + math.ceil((1 - (limit - c) / cur) * period)
  else
    retry = ws + math.ceil((1 - (limit - c - cur) / prev) * period) - now
    if retry < 1 then retry = 1 end
  end
  return {0, avail, retry, resetafter(cur), wend}
end
local g = math.min(want, avail)
cur = cur + g
redis.call('HSET', key, 'w', ws, 'c', cur, 'p', prev)
redis.call('PEXPIRE', key, math.ceil((ws + 2 * period - now) / 1000))
return {g, avail - g, 0, resetafter(cur), wend}
`)
