"""The Lua scripts of `RedisResetTokenStrategy`.

Each runs atomically on the server. Every key a script touches belongs to one user and shares
that user's hash tag (``{<tag>}``), so each script stays within one Redis Cluster hash slot.
Two scripts also build key names from ``ARGV`` (the tokens listed in the user's index): they
cannot be declared in ``KEYS`` without reading the index first, and a token issued between
that read and the script would escape a revocation. They are in the same slot by their tag.

Every script has the same effect when redis-py runs it a second time because the reply to the
first run was lost, and issue and consume also give the same answer: a retry never turns a
success into a failure. (A retried revocation revokes the same tokens but counts only those
still there, so its count can be lower.)

Key layout, for one user whose tag is ``<tag>``:

- ``<prefix>:{<tag>}:t:<digest>``  a token: a hash with ``v`` = "<user id>:<account
  fingerprint>" (a UUID as 32 hex digits, an int as "i" and its decimal), and while a
  reset holds it, ``a`` = that reset's attempt id and ``l`` = the end of its claim (Unix
  milliseconds, server clock). Expires with the token.
- ``<prefix>:{<tag>}:u``           sorted set of the user's token digests, scored by expiry;
  expires with its newest token.
- ``<prefix>:{<tag>}:i``           the digest of the last token issued under the throttle,
  expiring after ``min_interval_seconds``.
"""

from __future__ import annotations

ISSUE_TOKEN = """
-- Store a new token, after dropping expired and surplus ones; optionally throttle.
-- KEYS[1]  the user's index
-- KEYS[2]  the new token's key
-- KEYS[3]  the user's throttle key
-- ARGV[1]  the new token's digest
-- ARGV[2]  the value to store
-- ARGV[3]  lifetime in milliseconds
-- ARGV[4]  max_tokens_per_user
-- ARGV[5]  min interval between issues in milliseconds (0: no throttle)
-- ARGV[6]  prefix of the user's keys, "<prefix>:{<tag>}:"
-- ARGV[7]  1 for a decoy (an address without an account): the same call, storing nothing
-- Returns 1 when the token is stored, 0 when throttled or a decoy.
-- The digest comes from 256 fresh random bits: if its key exists, this is a retry of a run
-- whose reply was lost, and that run stored the token.
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 1
end
if ARGV[7] == '1' then
  return 0
end
local interval = tonumber(ARGV[5])
if interval > 0 and not redis.call('SET', KEYS[3], ARGV[1], 'PX', interval, 'NX') then
  return 0
end
-- The first write (the throttle's SET or this HSET) grows memory: a server out of memory (OOM),
-- a replica (READONLY) or one short of replicas (NOREPLICAS) refuses it before any change.
local lifetime = tonumber(ARGV[3])
redis.call('HSET', KEYS[2], 'v', ARGV[2])
redis.call('PEXPIRE', KEYS[2], lifetime)
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local index = KEYS[1]
redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
local expiry = now + lifetime
-- Scores are expiries. Two tokens with one lifetime issued within one clock tick must not
-- tie (the older is revoked first): within that tick, go just past the latest one.
local same_tick = redis.call('ZREVRANGEBYSCORE', index, '(' .. (expiry + 1), expiry,
                             'WITHSCORES', 'LIMIT', 0, 1)
if #same_tick == 2 then
  expiry = tonumber(same_tick[2]) + 0.001
end
local surplus = redis.call('ZCARD', index) - tonumber(ARGV[4]) + 1
if surplus > 0 then
  for _, digest in ipairs(redis.call('ZRANGE', index, 0, surplus - 1)) do
    redis.call('DEL', ARGV[6] .. 't:' .. digest)
  end
  redis.call('ZREMRANGEBYRANK', index, 0, surplus - 1)
end
redis.call('ZADD', index, expiry, ARGV[1])
if redis.call('PTTL', index) < lifetime then
  redis.call('PEXPIRE', index, lifetime)
end
return 1
"""

READ_TOKEN = """
-- The value of a live token no reset holds (or whose holder's lease ended), on the server's
-- clock; nil for anything else, a key of another type included (tokens of version 0.1).
-- KEYS[1]  the token's key
-- Returns the stored value or nil.
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then
  return nil
end
local held = redis.call('HMGET', KEYS[1], 'v', 'a', 'l')
if held[2] then
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  if tonumber(held[3]) > now then
    return nil
  end
end
return held[1]
"""

CONSUME_TOKEN = """
-- Claim a token for one reset attempt; the claim lasts until the attempt gives it back or
-- the lease ends (an attempt that died must not lose the link for good).
-- KEYS[1]  the token's key
-- ARGV[1]  the value the token must hold (user id and account fingerprint)
-- ARGV[2]  the attempt id, random per reset request
-- ARGV[3]  the lease in milliseconds
-- Returns 1 when this attempt holds the claim (also when it already did: a retried call
-- whose first reply was lost), 0 when the token is gone or another attempt holds it.
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then
  return 0
end
local held = redis.call('HMGET', KEYS[1], 'v', 'a', 'l')
if held[1] ~= ARGV[1] then
  return 0
end
if held[2] == ARGV[2] then
  return 1
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if held[2] and tonumber(held[3]) > now then
  return 0
end
redis.call('HSET', KEYS[1], 'a', ARGV[2], 'l', now + tonumber(ARGV[3]))
return 1
"""

RELEASE_TOKEN = """
-- Give a claimed token back after a failed reset, keeping its remaining lifetime.
-- KEYS[1]  the token's key
-- ARGV[1]  the attempt id that claimed it
-- Returns 1 when given back, 0 when that attempt holds no claim: the token was revoked,
-- expired or already given back. A revoked token is deleted, so it cannot come back.
if redis.call('TYPE', KEYS[1]).ok == 'hash' and redis.call('HGET', KEYS[1], 'a') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'a', 'l')
  return 1
end
return 0
"""

REVOKE_USER_TOKENS = """
-- Delete every token of one user, claimed or not, the index and the throttle (after a
-- reset, the next request for a mail is a new story).
-- KEYS[1]  the user's index
-- KEYS[2]  the user's throttle key
-- ARGV[1]  prefix of the user's keys, "<prefix>:{<tag>}:"
-- Returns the number of tokens deleted.
local revoked = 0
for _, digest in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  revoked = revoked + redis.call('DEL', ARGV[1] .. 't:' .. digest)
end
redis.call('DEL', KEYS[1], KEYS[2])
return revoked
"""

REVOKE_TOKEN = """
-- Delete one token and its index entry; lift the throttle if this token set it.
-- KEYS[1]  the token's key
-- KEYS[2]  the user's index
-- KEYS[3]  the user's throttle key
-- ARGV[1]  the token's digest
-- Returns 1 when the token was outstanding, 0 otherwise.
local deleted = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
end
return deleted
"""
