"""Stateless reset tokens: HS256 JWTs bound to the user's current password."""

from __future__ import annotations

import heapq
import time
from collections.abc import Awaitable, Callable

from pydantic import UUID4

from fastapi_password_reset import jwt_claims
from fastapi_password_reset.signing import (
    RESET_FINGERPRINT_PURPOSE,
    Secret,
    derive_key,
    fingerprints_match,
    password_fingerprint,
)
from fastapi_password_reset.tokens.base import RevocationNotSupportedError, U, UserRecord
from fastapi_password_reset.tokens.binding import BindOnce

RESET_AUDIENCE = "fastapi-users:reset"

_Reservation = tuple[UUID4, str]


class JWTResetTokenStrategy:
    """Signed tokens that need no storage.

    Why a token cannot be forged or reused:

    - It is an HS256 JWT under the bound secret (at least 32 bytes). Decoding names the one
      accepted algorithm, so ``alg: none`` and algorithm-confusion tokens are refused, and it
      requires ``sub``, ``aud``, ``exp`` and the password fingerprint.
    - The audience ``fastapi-users:reset`` keeps access tokens and other JWTs signed with the
      same secret from being accepted here.
    - The fingerprint is a keyed digest of the password hash at issue time. A reset changes the
      hash, so the token, and every other token issued before, stops matching: single use
      without storage. The comparison is constant-time.
    - Within one process, concurrent resets with tokens for the same password are serialised
      by a reservation, so exactly one succeeds. Across processes the user store decides; the
      Redis strategy gives exactly-once everywhere.

    Any malformed input makes a check return None or False; nothing raises to the caller.
    ``clock`` returns the current Unix time and is injectable for tests.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._settings = BindOnce(type(self).__name__)
        self._fingerprint_key = b""
        # Reservations taken by consume_token, each until its token's expiry, and the same
        # ordered by expiry so that expired ones are dropped without scanning them all.
        self._reserved: dict[_Reservation, float] = {}
        self._expiries: list[tuple[float, _Reservation]] = []

    def bind(self, secret: Secret, lifetime_seconds: int) -> None:
        self._settings.bind(secret, lifetime_seconds)
        self._fingerprint_key = derive_key(self._settings.binding.key, RESET_FINGERPRINT_PURPOSE)

    def _fingerprint(self, user: UserRecord) -> str:
        return password_fingerprint(self._fingerprint_key, user.hashed_password)

    def _decode(self, token: str) -> jwt_claims.Claims | None:
        return jwt_claims.decode(
            token, audience=RESET_AUDIENCE, key=self._settings.binding.key, now=self._clock()
        )

    def _is_current(self, claims: jwt_claims.Claims, user: UserRecord) -> bool:
        return claims.user_id == user.id and fingerprints_match(
            self._fingerprint(user), claims.fingerprint
        )

    async def issue_token(self, user: UserRecord) -> str:
        binding = self._settings.binding
        claims = jwt_claims.Claims(
            user_id=user.id,
            fingerprint=self._fingerprint(user),
            expires_at=self._clock() + binding.lifetime_seconds,
        )
        return jwt_claims.encode(claims, audience=RESET_AUDIENCE, key=binding.key)

    async def read_token(
        self, token: str, get_user: Callable[[UUID4], Awaitable[U | None]]
    ) -> U | None:
        claims = self._decode(token)
        if claims is None:
            return None
        user = await get_user(claims.user_id)
        if user is None or not self._is_current(claims, user):
            return None
        return user

    async def consume_token(self, token: str, user: UserRecord) -> bool:
        claims = self._decode(token)
        if claims is None or not self._is_current(claims, user):
            return False
        self._drop_expired_reservations()
        reservation = (user.id, claims.fingerprint)
        if reservation in self._reserved:
            return False
        self._reserved[reservation] = claims.expires_at
        heapq.heappush(self._expiries, (claims.expires_at, reservation))
        return True

    def _drop_expired_reservations(self) -> None:
        now = self._clock()
        while self._expiries and self._expiries[0][0] <= now:
            until, reservation = heapq.heappop(self._expiries)
            if self._reserved.get(reservation) == until:
                del self._reserved[reservation]

    async def restore_token(self, token: str, user: UserRecord) -> None:
        claims = self._decode(token)
        if claims is not None:
            self._reserved.pop((user.id, claims.fingerprint), None)

    async def password_changed(self, user: UserRecord) -> None:
        """Nothing to do: the new password hash no longer matches any older token."""

    async def revoke_token(self, token: str) -> bool:
        raise RevocationNotSupportedError(
            "JWT reset tokens are stateless and cannot be revoked one by one; they die when "
            "the password changes or they expire. Use RedisResetTokenStrategy to revoke."
        )

    async def revoke_user_tokens(self, user_id: UUID4) -> int:
        raise RevocationNotSupportedError(
            "JWT reset tokens are stateless and cannot be revoked; they die when the password "
            "changes or they expire. Use RedisResetTokenStrategy to revoke."
        )
