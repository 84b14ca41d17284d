"""Opaque single-use reset tokens kept in Redis: revocable, atomic, cluster-safe."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import UUID4
from redis import exceptions as redis_errors
from redis.asyncio import Redis, RedisCluster
from redis.commands.core import AsyncScript

from fastapi_password_reset.signing import (
    RESET_FINGERPRINT_PURPOSE,
    Secret,
    derive_key,
    password_fingerprint,
)
from fastapi_password_reset.tokens import redis_scripts
from fastapi_password_reset.tokens.base import TokenStoreUnavailableError, U, UserRecord
from fastapi_password_reset.tokens.binding import BindOnce
from fastapi_password_reset.tokens.redis_keys import StoredToken, TokenKeys

# What a lost, overloaded or resharding server raises: the store is unavailable, not wrong.
_UNAVAILABLE = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
    redis_errors.RedisClusterException,
    OSError,
)


class RedisResetTokenStrategy:
    """Random tokens whose digests live in Redis for the token lifetime.

    Why it is safe:

    - A token carries 256 random bits; Redis holds only an HMAC-SHA256 digest of it under
      the bound secret, so a dump, ``MONITOR`` or a Redis-only attacker can neither use a
      stored token nor forge a new one.
    - Single use: one Lua script checks and moves the token in one step, so of any number of
      concurrent resets, on any number of processes, exactly one gets it. A failed reset
      moves it back with its remaining lifetime.
    - The stored value names the user and a fingerprint of the password hash at issue time:
      a password changed by any path kills the token even if revocation did not run.
    - Every key of a user shares one hash slot, so each script is atomic on Redis Cluster too.
    - At most ``max_tokens_per_user`` tokens live per user (the oldest is revoked), expired
      entries are purged on each issue, and ``min_interval_seconds`` throttles issuing.
    - At most ``max_concurrent_commands`` commands are in flight at once; more wait, so a
      burst does not exhaust the client's connection pool (keep it below the pool's size).
    - Any connection failure raises `TokenStoreUnavailableError` and changes nothing.
    """

    def __init__(
        self,
        redis: Redis | RedisCluster,
        *,
        key_prefix: str = "password-reset",
        max_tokens_per_user: int = 5,
        min_interval_seconds: float = 0,
        max_concurrent_commands: int = 64,
    ) -> None:
        if isinstance(max_tokens_per_user, bool) or not isinstance(max_tokens_per_user, int):
            raise TypeError("max_tokens_per_user must be an int")
        if max_tokens_per_user < 1:
            raise ValueError("max_tokens_per_user must be at least 1")
        if min_interval_seconds < 0:
            raise ValueError("min_interval_seconds must not be negative")
        if not key_prefix or "{" in key_prefix or "}" in key_prefix:
            raise ValueError("key_prefix must be non-empty and contain no braces")
        if max_concurrent_commands < 1:
            raise ValueError("max_concurrent_commands must be at least 1")
        self.redis = redis
        self._key_prefix = key_prefix
        self.max_tokens_per_user = max_tokens_per_user
        self.min_interval_seconds = min_interval_seconds
        self._settings = BindOnce(type(self).__name__)
        self._issue = redis.register_script(redis_scripts.ISSUE_TOKEN)
        self._consume = redis.register_script(redis_scripts.CONSUME_TOKEN)
        self._revoke_user = redis.register_script(redis_scripts.REVOKE_USER_TOKENS)
        self._revoke_one = redis.register_script(redis_scripts.REVOKE_TOKEN)
        self._keys: TokenKeys | None = None
        # redis-py's pool refuses a command outright once all its connections are busy (100
        # by default). A burst of forgot-password requests would then lose reset mails; this
        # bound makes the excess wait its turn instead.
        self._command_slots = asyncio.Semaphore(max_concurrent_commands)
        self._fingerprint_key = b""

    def bind(self, secret: Secret, lifetime_seconds: int) -> None:
        self._settings.bind(secret, lifetime_seconds)
        self._keys = TokenKeys(self._settings.binding.key, self._key_prefix)
        self._fingerprint_key = derive_key(self._settings.binding.key, RESET_FINGERPRINT_PURPOSE)

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

    def _stored(self, user: UserRecord) -> StoredToken:
        return StoredToken(
            user.id, password_fingerprint(self._fingerprint_key, user.hashed_password)
        )

    async def _call(self, command: Callable[[], Awaitable[Any]]) -> Any:
        try:
            async with self._command_slots:
                return await command()
        except _UNAVAILABLE as exc:
            raise TokenStoreUnavailableError(f"{type(exc).__name__}: {exc}") from None

    async def _run(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        return await self._call(lambda: script(keys=keys, args=args))

    async def issue_token(self, user: UserRecord) -> str | None:
        keys, lifetime = self.keys, self._settings.binding.lifetime_seconds
        token, tag, digest = keys.new_token(user.id)
        args = [
            digest,
            self._stored(user).encode(),
            lifetime * 1000,
            self.max_tokens_per_user,
            int(self.min_interval_seconds * 1000),
            keys.user_prefix(tag),
        ]
        issued = await self._run(self._issue, [keys.index(tag), keys.live(tag, digest)], args)
        return token if int(issued) == 1 else None

    async def read_token(
        self, token: str, get_user: Callable[[UUID4], Awaitable[U | None]]
    ) -> U | None:
        keys = self.keys
        parsed = keys.parse(token)
        if parsed is None:
            return None
        live_key = keys.live(*parsed)
        stored = StoredToken.decode(await self._call(lambda: self.redis.get(live_key)))
        if stored is None or keys.tag(stored.user_id) != parsed[0]:
            return None
        user = await get_user(stored.user_id)
        if user is None or self._stored(user) != stored:
            return None
        return user

    async def consume_token(self, token: str, user: UserRecord) -> bool:
        keys = self.keys
        parsed = keys.parse(token)
        if parsed is None:
            return False
        script_keys = [keys.live(*parsed), keys.pending(*parsed)]
        consumed = await self._run(self._consume, script_keys, [self._stored(user).encode()])
        return int(consumed) == 1

    async def restore_token(self, token: str, user: UserRecord) -> None:
        keys = self.keys
        parsed = keys.parse(token)
        if parsed is None:
            return
        try:
            pending, live = keys.pending(*parsed), keys.live(*parsed)
            await self._call(lambda: self.redis.renamenx(pending, live))
        except redis_errors.ResponseError:
            return  # the pending token was revoked or expired meanwhile: nothing to give back

    async def password_changed(self, user: UserRecord) -> None:
        await self.revoke_user_tokens(user.id)

    async def revoke_token(self, token: str) -> bool:
        """Revoke one token; True if it was outstanding."""
        keys = self.keys
        parsed = keys.parse(token)
        if parsed is None:
            return False
        tag, digest = parsed
        script_keys = [keys.live(tag, digest), keys.pending(tag, digest), keys.index(tag)]
        return int(await self._run(self._revoke_one, script_keys, [digest])) > 0

    async def revoke_user_tokens(self, user_id: UUID4) -> int:
        """Revoke every outstanding token of a user; the number revoked."""
        keys = self.keys
        tag = keys.tag(user_id)
        revoked = await self._run(self._revoke_user, [keys.index(tag)], [keys.user_prefix(tag)])
        return int(revoked)
