"""Secrets, and the fingerprints that bind tokens to the account they were issued for."""

from __future__ import annotations

import base64
import hashlib
import hmac

from pydantic import SecretStr

from fastapi_password_reset.exceptions import InsecureSecretError

MIN_SECRET_BYTES = 32
# The sub-key under which reset tokens, of either strategy, fingerprint the password hash.
RESET_FINGERPRINT_PURPOSE = "reset-password-fingerprint"

Secret = str | SecretStr


def secret_bytes(secret: Secret, *, name: str) -> bytes:
    """The secret as bytes; refuse one shorter than 32 bytes.

    HS256 and HMAC-SHA256 are only as strong as their key. A short key such as ``"SECRET"``
    lets anyone holding one token recover it offline and then forge tokens for every user.
    """
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    key = raw.encode("utf-8")
    if len(key) < MIN_SECRET_BYTES:
        raise InsecureSecretError(
            f"{name} is {len(key)} bytes long; at least {MIN_SECRET_BYTES} bytes (256 bits) are "
            "required, because a short HMAC key can be guessed offline from a single token and "
            "then used to forge tokens for any user. Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return key


def derive_key(key: bytes, purpose: str) -> bytes:
    """A sub-key for one purpose, so one secret never keys two different MACs directly."""
    return hmac.new(
        key, b"fastapi-password-reset:" + purpose.encode("ascii"), hashlib.sha256
    ).digest()


def password_fingerprint(key: bytes, hashed_password: str) -> str:
    """A keyed digest of the current password hash, carried inside tokens.

    A token is honoured only while the user's stored hash still gives the same fingerprint, so
    any password change kills every token issued before it. The digest is keyed, so a token
    reveals nothing usable about the hash, and it costs microseconds, not an argon2 run.
    """
    digest = hmac.digest(key, hashed_password.encode("utf-8"), "sha256")
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def account_fingerprint(key: bytes, email: str, hashed_password: str) -> str:
    """A keyed digest of the e-mail address and the password hash, carried by reset tokens.

    A reset token is honoured only while both are as they were at issue time: a password
    change or an e-mail change, by any path, kills every reset token issued before it. The
    address is length-prefixed, so no pair of values can be shifted into another.
    """
    email_bytes = email.encode("utf-8")
    message = len(email_bytes).to_bytes(4, "big") + email_bytes + hashed_password.encode("utf-8")
    digest = hmac.digest(key, message, "sha256")
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def fingerprints_match(expected: str, presented: object) -> bool:
    """Constant-time comparison, so timing tells nothing about how much of a forgery matched."""
    return isinstance(presented, str) and hmac.compare_digest(
        expected.encode("ascii"), presented.encode("utf-8", "replace")
    )
