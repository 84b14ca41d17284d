"""Opaque reset tokens and the Redis keys that stand for them."""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from dataclasses import dataclass
from uuid import UUID

from fastapi_password_reset._jwt_claims import INT_ID_RANGE
from fastapi_password_reset._signing import derive_key
from fastapi_password_reset.tokens._user_ids import check_user_id
from fastapi_password_reset.tokens.base import UserId

_B64 = "[A-Za-z0-9_-]"
_TOKEN_SHAPE = re.compile(rf"({_B64}{{22}})\.({_B64}{{43}})")
# A UUID as 32 lower-case hex digits (as every value stored so far), or "i" and an int in
# canonical decimal: no leading zero, no "-0". Neither form can be read as the other.
_VALUE_SHAPE = re.compile(rf"(?:([0-9a-f]{{32}})|i(0|-?[1-9][0-9]{{0,18}})):({_B64}{{22}})")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class StoredToken:
    """What Redis keeps for a token: whose it is and which password it was issued under."""

    user_id: UserId
    fingerprint: str

    def encode(self) -> str:
        user_id = check_user_id(self.user_id)
        if isinstance(user_id, UUID):
            return f"{user_id.hex}:{self.fingerprint}"
        return f"i{user_id}:{self.fingerprint}"

    @classmethod
    def decode(cls, raw: bytes | str | None) -> StoredToken | None:
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
        match = _VALUE_SHAPE.fullmatch(text) if text is not None else None
        if match is None:
            return None
        if match[1] is not None:
            return cls(UUID(hex=match[1]), match[3])
        user_id = int(match[2])
        return cls(user_id, match[3]) if user_id in INT_ID_RANGE else None


class TokenKeys:
    """Makes tokens and names their keys; holds no state but derived keys.

    A token is ``<tag>.<random>``: 256 random bits from `secrets`, after a 128-bit keyed hash
    of the user id (the tag). The tag reveals neither id nor e-mail without the secret, and
    puts every key of one user in one Redis Cluster hash slot. Redis stores only a keyed
    digest of the whole token, so a copy of the database yields no usable token and no way
    to make one.
    """

    def __init__(self, secret_key: bytes, prefix: str) -> None:
        self._tag_key = derive_key(secret_key, "redis-user-tag")
        self._int_tag_key = derive_key(secret_key, "redis-user-tag-int")
        self._digest_key = derive_key(secret_key, "redis-token-digest")
        self._prefix = prefix

    def tag(self, user_id: UserId) -> str:
        """The user's tag: a UUID's 16 bytes, or an int's decimal text, each under its own key,
        so that no int's tag is a UUID's (short of a collision of HMAC-SHA256)."""
        user_id = check_user_id(user_id)
        if isinstance(user_id, UUID):
            return _b64(hmac.digest(self._tag_key, user_id.bytes, "sha256")[:16])
        return _b64(hmac.digest(self._int_tag_key, str(user_id).encode("ascii"), "sha256")[:16])

    def new_token(self, user_id: UserId) -> tuple[str, str, str]:
        """A fresh token for the user, with its tag and digest."""
        tag = self.tag(user_id)
        token = f"{tag}.{secrets.token_urlsafe(32)}"
        return token, tag, self.digest(token)

    def digest(self, token: str) -> str:
        return _b64(hmac.digest(self._digest_key, token.encode("ascii"), "sha256")[:16])

    def parse(self, token: str) -> tuple[str, str] | None:
        """(tag, digest) of a well-formed token; None for anything else, without any I/O."""
        match = _TOKEN_SHAPE.fullmatch(token) if token.isascii() else None
        return (match[1], self.digest(token)) if match else None

    def user_prefix(self, tag: str) -> str:
        return f"{self._prefix}:{{{tag}}}:"

    def index(self, tag: str) -> str:
        return self.user_prefix(tag) + "u"

    def live(self, tag: str, digest: str) -> str:
        return self.user_prefix(tag) + "t:" + digest

    def throttle(self, tag: str) -> str:
        return self.user_prefix(tag) + "i"
