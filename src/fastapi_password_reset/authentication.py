"""Bearer access tokens for log-in, bound to the user's current password."""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID

from fastapi.security import OAuth2PasswordBearer
from pydantic import UUID4

from fastapi_password_reset import _jwt_claims
from fastapi_password_reset._signing import (
    Secret,
    derive_key,
    fingerprints_match,
    password_fingerprint,
    secret_bytes,
)
from fastapi_password_reset.db.base import UD, BaseUserDatabase

AUTH_AUDIENCE = "fastapi-users:auth"


class JWTAuthentication:
    """HS256 access tokens, as fastapi-users 5-7's backend of the same name.

    Why a stolen token dies at a password reset: each token carries a keyed fingerprint of
    the password hash it was issued under, and a token is accepted only while the stored hash
    still gives that fingerprint. The audience ``fastapi-users:auth`` keeps reset tokens signed
    with the same secret from passing as access tokens, and decoding names its one algorithm.
    """

    def __init__(
        self,
        secret: Secret,
        lifetime_seconds: int,
        tokenUrl: str = "auth/jwt/login",  # noqa: N803 - fastapi-users' public spelling
        name: str = "jwt",
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = secret_bytes(secret, name="JWTAuthentication secret")
        self._fingerprint_key = derive_key(self._key, "access-token-fingerprint")
        self.lifetime_seconds = lifetime_seconds
        self.name = name
        self.scheme = OAuth2PasswordBearer(tokenUrl=tokenUrl, auto_error=False)
        self._clock = clock

    def write_token(self, user_id: UUID4, hashed_password: str) -> str:
        claims = _jwt_claims.Claims(
            user_id=user_id,
            fingerprint=password_fingerprint(self._fingerprint_key, hashed_password),
            expires_at=self._clock() + self.lifetime_seconds,
        )
        return _jwt_claims.encode(claims, audience=AUTH_AUDIENCE, key=self._key)

    async def read_user(self, token: str | None, user_db: BaseUserDatabase[UD]) -> UD | None:
        """The user this token is live for, or None for any bad, expired or outdated token."""
        claims = _jwt_claims.decode(token, audience=AUTH_AUDIENCE, key=self._key, now=self._clock())
        if claims is None or not isinstance(claims.user_id, UUID):
            return None  # the users of this API have UUIDs
        user = await user_db.get(claims.user_id)
        if user is None:
            return None
        expected = password_fingerprint(self._fingerprint_key, user.hashed_password)
        return user if fingerprints_match(expected, claims.fingerprint) else None
