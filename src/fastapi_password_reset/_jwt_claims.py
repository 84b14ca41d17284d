"""The one JWT layout used by reset and access tokens, and its strict decoder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import jwt

from fastapi_password_reset.models import MAX_TOKEN_LENGTH

if TYPE_CHECKING:
    from fastapi_password_reset.tokens.base import UserId

_ALGORITHM = "HS256"
_FINGERPRINT_CLAIM = "pfp"
_COMPATIBLE_SUBJECT_CLAIM = "user_id"
_REQUIRED = ["sub", "aud", "exp", _FINGERPRINT_CLAIM]

# The subject: a UUID as ``str(uuid)`` writes it (what every token issued so far carries), or
# an int id in decimal. No text is both: a UUID's has 36 characters and four hyphens, an
# int's at most 20 and no hyphen but a leading minus.
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DECIMAL = re.compile(r"-?[0-9]{1,19}")
INT_ID_RANGE = range(-(2**63), 2**63)
"""The int ids tokens carry: those of a signed 64-bit column (``BIGINT``)."""


def parse_int_id(text: str) -> int | None:
    """An int id written in decimal (at most 19 digits, within `INT_ID_RANGE`); else None."""
    if _DECIMAL.fullmatch(text) is None:
        return None
    value = int(text)
    return value if value in INT_ID_RANGE else None


def parse_subject(sub: str) -> UserId | None:
    """The user id a token names: canonical UUID text or a decimal int; None for anything else."""
    if _CANONICAL_UUID.fullmatch(sub):
        return UUID(sub)
    return parse_int_id(sub)


@dataclass(frozen=True)
class Claims:
    user_id: UserId
    fingerprint: str
    expires_at: float


def encode(claims: Claims, *, audience: str, key: bytes) -> str:
    subject = str(claims.user_id)  # canonical for a UUID, decimal for an int
    payload = {
        "sub": subject,
        # fastapi-users 5-7 named the user ``user_id``: code that decodes the tokens it
        # mails or receives (and its tests) reads that claim.
        _COMPATIBLE_SUBJECT_CLAIM: subject,
        "aud": audience,
        "exp": int(claims.expires_at),
        _FINGERPRINT_CLAIM: claims.fingerprint,
    }
    return jwt.encode(payload, key, algorithm=_ALGORITHM)


def decode(token: str | None, *, audience: str, key: bytes, now: float) -> Claims | None:
    """The claims of a well-formed, correctly signed, unexpired token; None for anything else.

    Only HS256 is accepted, so ``alg: none`` and algorithm-confusion tokens fail; the audience
    must match exactly and every claim of the layout must be present and well typed; a
    ``user_id`` claim, where present, must name the same user as ``sub``. Expiry is
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
    # Optional, for the tokens issued before it was added; never a second opinion.
    if payload.get(_COMPATIBLE_SUBJECT_CLAIM, sub) != sub:
        return None
    user_id = parse_subject(sub)
    if user_id is None:
        return None
    return Claims(user_id=user_id, fingerprint=fingerprint, expires_at=float(exp))
