package redisstore

import "github.com/redis/go-redis/v9"

// lockoutScript applies one Check or Fail atomically. Times are milliseconds
// from Redis TIME, so replicas with skewed clocks agree.
// KEYS[1] key; ARGV: fail ("1" or "0"), max failures, window, first lock,
// longest lock, memory (ms). Returns the lock's end (ms) or 0.
var lockoutScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local key = KEYS[1]
local fail = ARGV[1] == '1'
local maxf, window, base, maxd, memory = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local v = redis.call('HMGET', key, 'f', 'w', 'l', 'u')
local f, w, l, u = tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(v[3] or '0'), tonumber(v[4] or '0')
if u > now then return u end
if not fail then return 0 end
if now - w >= window then f = 0; w = now end
f = f + 1
local ttl = w + window - now
if f >= maxf then
  l = l + 1
  local d = base
  for i = 2, l do
    if d >= maxd then break end
    d = d * 2
  end
  if d > maxd then d = maxd end
  u = now + d
  f = 0
  w = 0
end
if l > 0 and u + memory - now > ttl then ttl = u + memory - now end
local function num(x) return string.format('%.0f', x) end
redis.call('HSET', key, 'f', num(f), 'w', num(w), 'l', num(l), 'u', num(u))
redis.call('PEXPIRE', key, num(ttl))
if u > now then return u end
return 0
`)
