"""Opaque single-use reset tokens kept in Redis: revocable, atomic, cluster-safe."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import ConnectionPool, Redis, RedisCluster
from redis.commands.core import AsyncScript

from fastapi_password_reset._events import Event, EventRecorder
from fastapi_password_reset._signing import Secret
from fastapi_password_reset.tokens import _redis_scripts
from fastapi_password_reset.tokens._binding import (
    DECOY_ACCOUNT,
    MOVED_TO_ROUTER,
    BindOnce,
    MovedToRouter,
)
from fastapi_password_reset.tokens._redis_failures import (
    STORE_FAILURES,
    NothingToUndoError,
    raised_inside_redis_py,
    store_unavailable,
)
from fastapi_password_reset.tokens._redis_keys import StoredToken, TokenKeys
from fastapi_password_reset.tokens._user_ids import as_user_id, check_user_id
from fastapi_password_reset.tokens.base import (
    ResetTicket,
    RevocationNotReplicatedError,
    TokenStoreUnavailableError,
    UserId,
    UserRecord,
)

logger = logging.getLogger("fastapi_password_reset")

# How long a reset attempt holds a token it consumed before another attempt may take it. A
# reset writes one row between consume and release; an attempt that died (a lost reply whose
# retries ran out, a killed worker) must not lose the link for good. If a slow attempt is
# overtaken, the user database's compare-and-set still lets only one of them write.
CLAIM_LEASE_SECONDS = 30

# How many of a user's tokens `revoke_user_tokens` would revoke now: the index members whose
# token key still exists. Read-only, one user's slot (key names from ARGV share its tag).
_COUNT_USER_TOKENS = """
-- KEYS[1]  the user's index
-- ARGV[1]  prefix of the user's keys, "<prefix>:{<tag>}:"
local live = 0
for _, digest in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  live = live + redis.call('EXISTS', ARGV[1] .. 't:' .. digest)
end
return live
"""


@dataclass(frozen=True)
class RedisTicket(ResetTicket):
    tag: str
    digest: str
    # Random per reset request: a consume retried after a lost reply is recognised as the
    # same attempt, and only the attempt that took a token can give it back.
    attempt: str


class RedisResetTokenStrategy:
    """Random tokens whose digests live in Redis for the token lifetime.

    Why it is safe:

    - A token carries 256 random bits; Redis holds only an HMAC-SHA256 digest of it under
      the bound secret, so a dump, ``MONITOR`` or a Redis-only attacker can neither use a
      stored token nor forge a new one.
    - Single use: one Lua script checks and claims the token for one reset attempt, so of any
      number of concurrent resets, on any number of processes, one gets it; the user
      database's compare-and-set then lets at most one write. A failed reset gives the token
      back with its remaining lifetime.
    - Lost replies: every script gives the same answer when redis-py retries it after a lost
      reply, so a consume that ran is not mistaken for a refusal, and an issue that ran is not
      mistaken for a throttle. A claim whose attempt died ends after `CLAIM_LEASE_SECONDS`.
    - Revocation deletes a token's only key; a give-back only drops a claim on a key that
      still exists, so it can never bring a revoked token back.
    - The stored value names the user and a fingerprint of the e-mail and password hash at
      issue time: an account changed by any path kills the token even if revocation did not run.
    - Every key of a user shares one hash slot, so each script is atomic on Redis Cluster too.
    - At most ``max_tokens_per_user`` tokens live per user (the one expiring first is revoked),
      expired entries are purged on each issue, and the router's ``min_interval_seconds``
      throttles issuing, across every process.
    - At most ``max_concurrent_commands`` commands are in flight at once; more wait, so a
      burst does not exhaust the client's connection pool (keep it below the pool's size).
    - Any failure of the store raises `TokenStoreUnavailableError`.
    - With ``wait_for_replicas``, a revocation returns only after that many replicas
      acknowledged it (``WAIT``), so a failover right after it does not bring tokens back.

    For operations: `count_user_tokens` says how many tokens `revoke_user_tokens` would
    revoke (one read-only Lua script in the user's slot: the index members whose token key
    still exists), and `ping` checks the servers for a readiness probe or at startup. A
    standalone script revoking or counting needs only the secret and key prefix: construct
    the strategy as the application does and call `bind` with any lifetime.
    """

    requires_email = False

    def __init__(
        self,
        redis: Redis | RedisCluster,
        *,
        key_prefix: str = "password-reset",
        max_tokens_per_user: int = 5,
        max_concurrent_commands: int = 64,
        wait_for_replicas: int = 0,
        wait_timeout_seconds: float = 1.0,
        min_interval_seconds: MovedToRouter = MOVED_TO_ROUTER,
    ) -> None:
        """``min_interval_seconds`` is no setting of the strategy any more: giving it raises
        `TypeError`, which says where it went."""
        if min_interval_seconds is not MOVED_TO_ROUTER:
            raise TypeError(
                "min_interval_seconds is a setting of the router now, one for both token "
                "strategies: get_reset_password_router(..., min_interval_seconds=60)"
            )
        if isinstance(max_tokens_per_user, bool) or not isinstance(max_tokens_per_user, int):
            raise TypeError("max_tokens_per_user must be an int")
        if max_tokens_per_user < 1:
            raise ValueError("max_tokens_per_user must be at least 1")
        if not key_prefix or "{" in key_prefix or "}" in key_prefix:
            raise ValueError("key_prefix must be non-empty and contain no braces")
        if max_concurrent_commands < 1:
            raise ValueError("max_concurrent_commands must be at least 1")
        if wait_for_replicas < 0 or wait_timeout_seconds <= 0:
            raise ValueError("wait_for_replicas must be >= 0 and wait_timeout_seconds > 0")
        self.redis = redis
        self._key_prefix = key_prefix
        self.max_tokens_per_user = max_tokens_per_user
        self.wait_for_replicas = wait_for_replicas
        self.wait_timeout_seconds = wait_timeout_seconds
        self._settings = BindOnce(type(self).__name__)
        self._events = EventRecorder()
        self._issue = redis.register_script(_redis_scripts.ISSUE_TOKEN)
        self._read = redis.register_script(_redis_scripts.READ_TOKEN)
        self._consume = redis.register_script(_redis_scripts.CONSUME_TOKEN)
        self._release = redis.register_script(_redis_scripts.RELEASE_TOKEN)
        self._revoke_user = redis.register_script(_redis_scripts.REVOKE_USER_TOKENS)
        self._revoke_one = redis.register_script(_redis_scripts.REVOKE_TOKEN)
        self._count_user = redis.register_script(_COUNT_USER_TOKENS)
        self._keys: TokenKeys | None = None
        # redis-py's pool refuses a command outright once all its connections are busy (100
        # by default). A burst of forgot-password requests would then lose reset mails; this
        # bound makes the excess wait its turn instead.
        self._command_slots = asyncio.Semaphore(max_concurrent_commands)

    def bind(
        self,
        secret: Secret,
        lifetime_seconds: int,
        *,
        min_interval_seconds: float = 0,
        events: EventRecorder | None = None,
    ) -> None:
        """Set the secret and lifetime; the router does it, a standalone script calls it.

        A script that only revokes or counts needs the application's secret and key prefix;
        the lifetime it gives here is never used by `revoke_user_tokens`,
        `count_user_tokens` or `revoke_token`, so any positive value will do.
        """
        self._settings.bind(secret, lifetime_seconds, min_interval_seconds)
        self._events = events if events is not None else self._events
        self._keys = TokenKeys(self._settings.binding.key, self._key_prefix)

    @property
    def key_prefix(self) -> str:
        """The first part of every key this strategy writes."""
        return self._key_prefix

    @property
    def keys(self) -> TokenKeys:
        """Token and key naming under the bound secret."""
        _ = self._settings.binding  # raises StrategyNotBoundError, with its advice, if unbound
        assert self._keys is not None
        return self._keys

    async def _call(self, command: Callable[[], Awaitable[Any]]) -> Any:
        """Run one command; every failure of the store becomes `TokenStoreUnavailableError`.

        redis-py's asyncio connections sometimes fail with a bare AttributeError or TypeError
        from inside the transport (a connection closed under a write: redis-py issues #4287
        and #3546) instead of a ConnectionError. Every command sent here is safe to run twice
        (the scripts are written for redis-py's own retries), so such a failure is retried
        once, then reported as the store being unavailable.
        """
        for attempt in range(2):
            try:
                async with self._command_slots:
                    return await command()
            except STORE_FAILURES as exc:
                raise store_unavailable(exc) from None
            except (AttributeError, TypeError) as exc:
                if not raised_inside_redis_py(exc):
                    raise
                if attempt:
                    raise TokenStoreUnavailableError(f"{type(exc).__name__}: {exc}") from None
        raise AssertionError("unreachable")

    async def _run(self, script: AsyncScript, keys: list[str], args: list[Any]) -> int:
        return int(await self._call(lambda: script(keys=keys, args=args)))

    async def issue_token(
        self, user: UserRecord, *, lifetime_seconds: int | None = None, throttle: bool = True
    ) -> str | None:
        """A new token, or None when ``throttle`` and the user had one too recently."""
        user_id = check_user_id(user.id)
        token, tag, digest = self.keys.new_token(user_id)
        fingerprint = self._settings.fingerprint(user)
        try:
            issued = await self._issue_run(
                user_id, fingerprint, tag, digest, lifetime_seconds, throttle, decoy=False
            )
        except NothingToUndoError:
            raise  # never sent, or refused: no token was stored
        except TokenStoreUnavailableError:
            # The script may have run with its reply lost for good: withdraw the token, so
            # that the user is not left throttled without a mail.
            await self._withdraw(tag, digest)
            raise
        return token if issued == 1 else None

    async def issue_decoy(self) -> None:
        """The client's share of an issue, and one round trip; the script stores nothing."""
        _, tag, digest = self.keys.new_token(DECOY_ACCOUNT.id)
        fingerprint = self._settings.fingerprint(DECOY_ACCOUNT)
        await self._issue_run(DECOY_ACCOUNT.id, fingerprint, tag, digest, None, True, decoy=True)

    async def _issue_run(
        self,
        user_id: UserId,
        fingerprint: str,
        tag: str,
        digest: str,
        lifetime_seconds: int | None,
        throttle: bool,
        *,
        decoy: bool,
    ) -> int:
        keys, lifetime = self.keys, self._settings.lifetime(lifetime_seconds)
        interval = self._settings.binding.min_interval_seconds if throttle else 0
        script_keys = [keys.index(tag), keys.live(tag, digest), keys.throttle(tag)]
        args = [
            digest,
            StoredToken(user_id, fingerprint).encode(),
            lifetime * 1000,
            self.max_tokens_per_user,
            int(interval * 1000),
            keys.user_prefix(tag),
            int(decoy),
        ]
        return await self._run(self._issue, script_keys, args)

    async def _withdraw(self, tag: str, digest: str) -> None:
        try:
            await self._revoke_digest(tag, digest)
        except TokenStoreUnavailableError:
            logger.warning(
                "could not withdraw a token whose issue failed: it expires unused, and the user "
                "may be throttled for min_interval_seconds"
            )

    async def read_token(self, token: str, *, user_id: UserId | None = None) -> RedisTicket | None:
        keys = self.keys
        parsed = keys.parse(token)
        if parsed is None:
            return None
        tag, digest = parsed
        value = await self._call(lambda: self._read(keys=[keys.live(tag, digest)]))
        stored = StoredToken.decode(value)
        if stored is None or keys.tag(stored.user_id) != tag:
            return None
        return RedisTicket(stored.user_id, stored.fingerprint, tag, digest, secrets.token_hex(16))

    def _owns(self, ticket: ResetTicket) -> bool:
        """Whether the ticket was read by this kind of strategy (not another's)."""
        return type(ticket) is RedisTicket

    def is_current(self, ticket: ResetTicket, user: UserRecord) -> bool:
        return self._owns(ticket) and self._settings.is_current(ticket, user)

    async def consume_token(self, ticket: ResetTicket) -> bool:
        if not self._owns(ticket):
            return False
        assert isinstance(ticket, RedisTicket)
        try:
            return await self._claim(ticket)
        except NothingToUndoError:
            raise  # never sent, or refused: nothing was claimed
        except TokenStoreUnavailableError:
            # The claim may have been taken with its reply lost for good: drop it, so that
            # the link works again at once rather than after the lease.
            await self._release_quietly(ticket)
            raise

    async def _claim(self, ticket: RedisTicket) -> bool:
        value = StoredToken(ticket.user_id, ticket.fingerprint).encode()
        args = [value, ticket.attempt, CLAIM_LEASE_SECONDS * 1000]
        live_key = self.keys.live(ticket.tag, ticket.digest)
        return await self._run(self._consume, [live_key], args) == 1

    async def restore_token(self, ticket: ResetTicket) -> None:
        if self._owns(ticket):
            assert isinstance(ticket, RedisTicket)
            await self._give_back(ticket)

    async def _give_back(self, ticket: RedisTicket) -> None:
        live_key = self.keys.live(ticket.tag, ticket.digest)
        await self._run(self._release, [live_key], [ticket.attempt])

    async def _release_quietly(self, ticket: RedisTicket) -> None:
        try:
            await self.restore_token(ticket)
        except TokenStoreUnavailableError:
            logger.warning("could not release a claimed token; it is free again after the lease")

    async def password_changed(self, user: UserRecord) -> None:
        await self.revoke_user_tokens(user.id)

    async def withdraw_token(self, user: UserRecord, token: str) -> None:
        parsed = self.keys.parse(token)
        if parsed is not None:
            await self._revoke_digest(*parsed)  # lifts the throttle only if this token set it

    async def revoke_token(self, token: str) -> bool:
        """Revoke one token; True if it was outstanding."""
        parsed = self.keys.parse(token)
        if parsed is None:
            return False
        revoked = await self._revoke_digest(*parsed)
        if revoked:
            self._events.emit(Event.TOKENS_REVOKED, reason="revoke_token", count=revoked)
        return revoked > 0

    async def _revoke_digest(self, tag: str, digest: str) -> int:
        keys = self.keys
        script_keys = [keys.live(tag, digest), keys.index(tag), keys.throttle(tag)]
        return await self._revoke(self._revoke_one, script_keys, [digest])

    async def revoke_user_tokens(self, user_id: UserId | str) -> int:
        """Revoke every outstanding token of a user (a UUID, an int, or the text of either);
        the number revoked."""
        owner, revoked = as_user_id(user_id), 0
        try:
            revoked = await self._revoke_links(owner)
        except RevocationNotReplicatedError as unconfirmed:
            revoked = unconfirmed.revoked
            raise
        finally:
            if revoked:
                self._events.emit(Event.TOKENS_REVOKED, user_id=owner, count=revoked)
        return revoked

    async def _revoke_links(self, owner: UserId) -> int:
        """Delete every link token of the user, the index and the throttle; how many."""
        keys = self.keys
        tag = keys.tag(owner)
        script_keys = [keys.index(tag), keys.throttle(tag)]
        return await self._revoke(self._revoke_user, script_keys, [keys.user_prefix(tag)])

    async def count_user_tokens(self, user_id: UserId | str) -> int:
        """How many tokens of a user (a UUID, an int, or the text of either)
        `revoke_user_tokens` would revoke now.

        Live tokens, claimed by a reset in progress or not; read-only, one round trip.
        """
        keys = self.keys
        tag = keys.tag(as_user_id(user_id))
        return await self._run(self._count_user, [keys.index(tag)], [keys.user_prefix(tag)])

    async def ping(self) -> float:
        """Round-trip to the Redis servers that hold the keys; the seconds it took.

        A single server gets one ``PING``; on Redis Cluster every primary does, concurrently,
        since any user's keys may live on any of them. Raises `TokenStoreUnavailableError` when
        one cannot be reached or refuses the client (a wrong password). It proves neither
        that writes succeed (a demoted primary or one out of memory answers ``PING``) nor
        anything about the secret; it needs no `bind`.
        """
        started = time.perf_counter()
        if isinstance(self.redis, RedisCluster):
            cluster = self.redis
            await self._call(lambda: _ping_primaries(cluster))
        else:
            await self._call(self.redis.ping)
        return time.perf_counter() - started

    async def _revoke(self, script: AsyncScript, keys: list[str], args: list[Any]) -> int:
        """Run a revocation script; with ``wait_for_replicas``, wait until replicas have it."""
        if not self.wait_for_replicas:
            return await self._run(script, keys, args)
        return int(await self._call(lambda: self._revoke_and_wait(script, keys, args)))

    async def _revoke_and_wait(self, script: AsyncScript, keys: list[str], args: list[Any]) -> int:
        """The script and ``WAIT`` on one connection: WAIT counts replicas that acknowledged
        the writes of its own connection, so on any other it would report a stale offset."""
        wanted, timeout_ms = self.wait_for_replicas, int(self.wait_timeout_seconds * 1000)
        pinned, own_pool = await self._pinned_client(keys[0])
        try:
            revoked = int(await script(keys=keys, args=args, client=pinned))
            acknowledged = int(await pinned.execute_command("WAIT", wanted, timeout_ms))  # type: ignore[no-untyped-call]
        finally:
            await pinned.aclose(close_connection_pool=own_pool)
        if acknowledged < wanted:
            raise RevocationNotReplicatedError(
                f"the revocation reached {acknowledged} of {wanted} replicas within "
                f"{self.wait_timeout_seconds} s",
                revoked=revoked,
            )
        return revoked

    async def _pinned_client(self, key: str) -> tuple[Redis, bool]:
        """A client holding one connection to the primary that serves ``key``, and whether
        its pool is its own (to close with it)."""
        if not isinstance(self.redis, RedisCluster):
            return self.redis.client(), False
        await self.redis.initialize()  # a no-op once the client knows the slots
        node = self.redis.get_node_from_key(key)
        if node is None:
            raise redis_errors.SlotNotCoveredError(f"no node serves the slot of {key}")
        pool = ConnectionPool(connection_class=node.connection_class, **node.connection_kwargs)
        return Redis(connection_pool=pool, single_connection_client=True), True


async def _ping_primaries(cluster: RedisCluster) -> None:
    """PING every primary of the cluster, each once, and wait for every answer.

    One node per command: redis-py's own multi-node PING leaves the other pings running
    when one fails, and they may then hold connections of nodes it has since replaced.
    """
    await cluster.initialize()  # a no-op once the client knows the slots
    replies = await asyncio.gather(
        *(cluster.execute_command("PING", target_nodes=node) for node in cluster.get_primaries()),
        return_exceptions=True,
    )
    for reply in replies:
        if isinstance(reply, BaseException):
            raise reply
