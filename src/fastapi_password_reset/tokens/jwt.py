"""Stateless reset tokens: HS256 JWTs bound to the account as it was at issue time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi_password_reset import _jwt_claims
from fastapi_password_reset._events import EventRecorder
from fastapi_password_reset._signing import Secret
from fastapi_password_reset.tokens._binding import DECOY_ACCOUNT, BindOnce
from fastapi_password_reset.tokens._user_ids import check_user_id
from fastapi_password_reset.tokens.base import (
    ResetTicket,
    RevocationNotSupportedError,
    UserId,
    UserRecord,
)

RESET_AUDIENCE = "fastapi-users:reset"


@dataclass(frozen=True)
class JWTTicket(ResetTicket):
    expires_at: float


class JWTResetTokenStrategy:
    """Signed tokens that need no storage.

    Why a token cannot be forged or reused:

    - It is an HS256 JWT under the bound secret (at least 32 bytes). Decoding names the one
      accepted algorithm, so ``alg: none`` and algorithm-confusion tokens are refused, and it
      requires ``sub``, ``aud``, ``exp`` and the account fingerprint.
    - The audience ``fastapi-users:reset`` keeps access tokens and other JWTs signed with the
      same secret from being accepted here.
    - The fingerprint is a keyed digest of the e-mail address and the password hash at issue
      time. A reset changes the hash, so the token, and every other token issued before it,
      stops matching; an e-mail change kills them too. The comparison is constant-time.
    - Throttling (``min_interval_seconds``, from the router) is kept in this process: with
      several worker processes a user may get one mail per interval from each.
    - Single use across any number of processes: the reset writes the new hash only if the
      stored hash is still the one the token was issued under (a compare-and-set in the user
      database), so of concurrent resets with one token exactly one writes.

    Any malformed input makes a read return None; nothing raises to the caller. ``clock``
    returns the current Unix time and is injectable for tests.
    """

    requires_email = False

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._settings = BindOnce(type(self).__name__)
        self._events = EventRecorder()
        self._last_issued: dict[UserId, float] = {}

    def bind(
        self,
        secret: Secret,
        lifetime_seconds: int,
        *,
        min_interval_seconds: float = 0,
        events: EventRecorder | None = None,
    ) -> None:
        self._settings.bind(secret, lifetime_seconds, min_interval_seconds)
        self._events = events if events is not None else self._events

    async def issue_token(
        self, user: UserRecord, *, lifetime_seconds: int | None = None, throttle: bool = True
    ) -> str | None:
        """A token for the user; None when ``throttle`` and this process issued one too
        recently (JWT mode has no shared store: each worker process throttles on its own)."""
        user_id = check_user_id(user.id)
        throttled = throttle and self._throttled(user_id)
        # Encoded even when throttled: a throttled request costs what any other does.
        token = self._encode(user_id, self._settings.fingerprint(user), lifetime_seconds)
        return None if throttled else token

    async def issue_decoy(self) -> None:
        self._throttled(DECOY_ACCOUNT.id, record=False)
        self._encode(DECOY_ACCOUNT.id, self._settings.fingerprint(DECOY_ACCOUNT), None)

    def _encode(self, user_id: UserId, fingerprint: str, lifetime_seconds: int | None) -> str:
        claims = _jwt_claims.Claims(
            user_id=user_id,
            fingerprint=fingerprint,
            expires_at=self._clock() + self._settings.lifetime(lifetime_seconds),
        )
        return _jwt_claims.encode(claims, audience=RESET_AUDIENCE, key=self._settings.binding.key)

    def _throttled(self, user_id: UserId, *, record: bool = True) -> bool:
        """Whether a token went to this user within the interval; else note this issue.

        Entries are kept in issue order and dropped once older than the interval, so memory
        holds at most the users served within one interval.
        """
        interval = self._settings.binding.min_interval_seconds
        if not interval:
            return False
        now = self._clock()
        while self._last_issued:
            oldest, issued_at = next(iter(self._last_issued.items()))
            if now - issued_at < interval:
                break
            del self._last_issued[oldest]
        if user_id in self._last_issued:
            return True
        if record:
            self._last_issued[user_id] = now
        return False

    async def read_token(self, token: str, *, user_id: UserId | None = None) -> JWTTicket | None:
        claims = _jwt_claims.decode(
            token, audience=RESET_AUDIENCE, key=self._settings.binding.key, now=self._clock()
        )
        if claims is None:
            return None
        return JWTTicket(claims.user_id, claims.fingerprint, claims.expires_at)

    def is_current(self, ticket: ResetTicket, user: UserRecord) -> bool:
        return isinstance(ticket, JWTTicket) and self._settings.is_current(ticket, user)

    async def consume_token(self, ticket: ResetTicket) -> bool:
        """Still unexpired: the user database's compare-and-set decides which reset wins."""
        return isinstance(ticket, JWTTicket) and ticket.expires_at > self._clock()

    async def restore_token(self, ticket: ResetTicket) -> None:
        """Nothing to give back: the token lives until the password hash changes."""

    async def password_changed(self, user: UserRecord) -> None:
        """Nothing to do: the new password hash no longer matches any older token."""

    async def withdraw_token(self, user: UserRecord, token: str) -> None:
        """Lift this process's throttle for the user. The token itself cannot be revoked; it
        was never delivered, and dies with the next password change or at expiry."""
        claims = _jwt_claims.decode(
            token, audience=RESET_AUDIENCE, key=self._settings.binding.key, now=self._clock()
        )
        if claims is not None and claims.user_id == user.id:
            self._last_issued.pop(claims.user_id, None)

    async def revoke_token(self, token: str) -> bool:
        raise RevocationNotSupportedError(
            "JWT reset tokens are stateless and cannot be revoked one by one; they die when "
            "the password or e-mail changes or they expire. Use RedisResetTokenStrategy to "
            "revoke."
        )

    async def revoke_user_tokens(self, user_id: UserId | str) -> int:
        raise RevocationNotSupportedError(
            "JWT reset tokens are stateless and cannot be revoked; they die when the password "
            "or e-mail changes or they expire. Use RedisResetTokenStrategy to revoke."
        )
