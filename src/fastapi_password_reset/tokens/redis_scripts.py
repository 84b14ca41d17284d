"""The Lua scripts of `RedisResetTokenStrategy`.

Each runs atomically on the server. Every key a script touches belongs to one user and shares
that user's hash tag (``{<tag>}``), so each script stays within one Redis Cluster hash slot.
Keys built inside a script from ``ARGV`` are in that same slot.

Key layout, for one user whose tag is ``<tag>``:

- ``<prefix>:{<tag>}:t:<digest>``  a live token -> "<user id hex>:<password fingerprint>"
- ``<prefix>:{<tag>}:p:<digest>``  a token being used by a reset in progress (same value)
- ``<prefix>:{<tag>}:u``           sorted set of the user's token digests, scored by expiry
  (Unix milliseconds, server clock)
"""

from __future__ import annotations

ISSUE_TOKEN = """
-- Store a new token, after dropping expired and surplus ones; optionally throttle.
-- KEYS[1]  the user's index
-- KEYS[2]  the new token's key
-- ARGV[1]  the new token's digest
-- ARGV[2]  the value to store
-- ARGV[3]  lifetime in milliseconds
-- ARGV[4]  max_tokens_per_user
-- ARGV[5]  min interval between issues in milliseconds (0: none)
-- ARGV[6]  prefix of the user's keys, "<prefix>:{<tag>}:"
-- Returns 1 when the token was stored, 0 when throttled.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local index = KEYS[1]
local lifetime = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
local expiry = now + lifetime
local newest = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
if #newest == 2 then
  local newest_expiry = tonumber(newest[2])
  if now - (newest_expiry - lifetime) < tonumber(ARGV[5]) then
    return 0
  end
  -- Scores order tokens by age: two issued within one clock tick must not tie.
  if newest_expiry >= expiry then
    expiry = newest_expiry + 0.001
  end
end
local surplus = redis.call('ZCARD', index) - tonumber(ARGV[4]) + 1
if surplus > 0 then
  local oldest = redis.call('ZRANGE', index, 0, surplus - 1)
  for _, digest in ipairs(oldest) do
    redis.call('DEL', ARGV[6] .. 't:' .. digest, ARGV[6] .. 'p:' .. digest)
  end
  redis.call('ZREMRANGEBYRANK', index, 0, surplus - 1)
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', lifetime)
redis.call('ZADD', index, expiry, ARGV[1])
redis.call('PEXPIRE', index, lifetime)
return 1
"""

CONSUME_TOKEN = """
-- Use a token up: move it to its pending key, keeping its remaining lifetime.
-- KEYS[1]  the token's key
-- KEYS[2]  the token's pending key
-- ARGV[1]  the value the token must hold (user id and current password fingerprint)
-- Returns 1 for the one caller that consumed it, 0 for every other.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('RENAME', KEYS[1], KEYS[2])
  return 1
end
return 0
"""

REVOKE_USER_TOKENS = """
-- Delete every token of one user, live or pending, and the user's index.
-- KEYS[1]  the user's index
-- ARGV[1]  prefix of the user's keys, "<prefix>:{<tag>}:"
-- Returns the number of live tokens deleted.
local revoked = 0
for _, digest in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  revoked = revoked + redis.call('DEL', ARGV[1] .. 't:' .. digest)
  redis.call('DEL', ARGV[1] .. 'p:' .. digest)
end
redis.call('DEL', KEYS[1])
return revoked
"""

REVOKE_TOKEN = """
-- Delete one token, live or pending, and its index entry.
-- KEYS[1]  the token's key
-- KEYS[2]  the token's pending key
-- KEYS[3]  the user's index
-- ARGV[1]  the token's digest
-- Returns the number of keys deleted (0 when the token was not outstanding).
local deleted = redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return deleted
"""
