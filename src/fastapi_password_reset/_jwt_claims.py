"""The one JWT layout used by reset and access tokens, and its strict decoder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import jwt

from fastapi_password_reset.models import MAX_TOKEN_LENGTH

_ALGORITHM = "HS256"
_FINGERPRINT_CLAIM = "pfp"
_REQUIRED = ["sub", "aud", "exp", _FINGERPRINT_CLAIM]


@dataclass(frozen=True)
class Claims:
    user_id: UUID
    fingerprint: str
    expires_at: float


def encode(claims: Claims, *, audience: str, key: bytes) -> str:
    payload = {
        "sub": str(claims.user_id),
        "aud": audience,
        "exp": int(claims.expires_at),
        _FINGERPRINT_CLAIM: claims.fingerprint,
    }
    return jwt.encode(payload, key, algorithm=_ALGORITHM)


def decode(token: str | None, *, audience: str, key: bytes, now: float) -> Claims | None:
    """The claims of a well-formed, correctly signed, unexpired token; None for anything else.

    Only HS256 is accepted, so ``alg: none`` and algorithm-confusion tokens fail; the audience
    must match exactly and every claim of the layout must be present and well typed. Expiry is
    checked against ``now`` so that callers can inject a clock.
    """
    if token is None or not token.isascii() or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            audience=audience,
            options={"require": _REQUIRED, "verify_exp": False},
        )
    except jwt.PyJWTError:
        return None
    exp, sub, fingerprint = payload["exp"], payload["sub"], payload[_FINGERPRINT_CLAIM]
    if isinstance(exp, bool) or not isinstance(exp, int | float) or exp <= now:
        return None
    if not isinstance(sub, str) or not isinstance(fingerprint, str):
        return None
    try:
        user_id = UUID(sub)
    except ValueError:
        return None
    return Claims(user_id=user_id, fingerprint=fingerprint, expires_at=float(exp))
