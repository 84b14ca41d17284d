"""The Lua scripts of `RedisResetCodeStrategy`.

One user has at most one live code, in one hash that expires with it:

- ``<prefix>:{<tag>}:c``  ``d`` = HMAC-SHA256 of the user id and the code (never the code),
  ``v`` = "<user id>:<account fingerprint>" as for a link token, ``n`` = wrong tries so far,
  and while a reset holds the code, ``a`` = its attempt id and ``l`` = the end of its claim
  (Unix milliseconds, server clock).
- ``<prefix>:{<tag>}:i``  the throttle, as for link tokens.

A wrong try is counted in the same script that checks the code, so no number of concurrent
guesses gets more than ``max_attempts`` counted: the script that counts the last one deletes
the code, and every later try, the right code included, finds nothing. Like the token scripts,
each gives the same answer when redis-py runs it again after a lost reply; a retried check of a
wrong code counts it twice, which errs on the safe side (the guesser gains no try).
"""

from __future__ import annotations

ISSUE_CODE = """
-- Store a new code for the user, replacing any earlier one; optionally throttle.
-- KEYS[1]  the user's code key
-- KEYS[2]  the user's throttle key
-- ARGV[1]  the code's digest
-- ARGV[2]  the value to store
-- ARGV[3]  lifetime in milliseconds
-- ARGV[4]  min interval between issues in milliseconds (0: no throttle)
-- ARGV[5]  1 for a decoy (an address without an account): the same call, storing nothing
-- Returns 1 when the code is stored, 0 when throttled or a decoy.
if redis.call('TYPE', KEYS[1]).ok == 'hash' and redis.call('HGET', KEYS[1], 'd') == ARGV[1] then
  return 1
end
if ARGV[5] == '1' then
  return 0
end
local interval = tonumber(ARGV[4])
if interval > 0 and not redis.call('SET', KEYS[2], ARGV[1], 'PX', interval, 'NX') then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'v', ARGV[2], 'n', 0)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""

CHECK_CODE = """
-- Check a code; a wrong one counts as a try, and the last allowed try deletes the code.
-- KEYS[1]  the user's code key
-- ARGV[1]  the digest of the code tried
-- ARGV[2]  max_attempts
-- Returns the stored value when the code matches and no reset holds it (or its holder's lease
-- ended); nil otherwise.
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then
  return nil
end
local held = redis.call('HMGET', KEYS[1], 'd', 'v', 'a', 'l')
if held[1] ~= ARGV[1] then
  if redis.call('HINCRBY', KEYS[1], 'n', 1) >= tonumber(ARGV[2]) then
    redis.call('DEL', KEYS[1])
  end
  return nil
end
if held[3] then
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  if tonumber(held[4]) > now then
    return nil
  end
end
return held[2]
"""

CONSUME_CODE = """
-- Claim a code for one reset attempt, as CONSUME_TOKEN does for a link token.
-- KEYS[1]  the user's code key
-- ARGV[1]  the code's digest
-- ARGV[2]  the value the code must hold
-- ARGV[3]  the attempt id
-- ARGV[4]  the lease in milliseconds
-- Returns 1 when this attempt holds the claim (again, after a lost reply), 0 otherwise.
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then
  return 0
end
local held = redis.call('HMGET', KEYS[1], 'd', 'v', 'a', 'l')
if held[1] ~= ARGV[1] or held[2] ~= ARGV[2] then
  return 0
end
if held[3] == ARGV[3] then
  return 1
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
if held[3] and tonumber(held[4]) > now then
  return 0
end
redis.call('HSET', KEYS[1], 'a', ARGV[3], 'l', now + tonumber(ARGV[4]))
return 1
"""

REVOKE_CODE = """
-- Delete the user's code and lift the throttle; with a digest, only if they are that code's.
-- KEYS[1]  the user's code key
-- KEYS[2]  the user's throttle key
-- ARGV[1]  (optional) the digest of the one code to withdraw (a code whose mail failed)
-- Returns 1 when a code was outstanding (and was that one), 0 otherwise.
if ARGV[1] then
  local deleted = 0
  if redis.call('TYPE', KEYS[1]).ok == 'hash' and redis.call('HGET', KEYS[1], 'd') == ARGV[1] then
    deleted = redis.call('DEL', KEYS[1])
  end
  if redis.call('GET', KEYS[2]) == ARGV[1] then
    redis.call('DEL', KEYS[2])
  end
  return deleted
end
local deleted = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
return deleted
"""
