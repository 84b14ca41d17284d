"""The requests sent to the stock and to the swapped reset router, and the tokens they carry.

A request body may name a token by kind (``Token.VALID``, ``Token.EXPIRED``...): each
application makes its own token of that kind just before the request, since a token of one
application means nothing to the other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

FORGOT = "/auth/forgot-password"
RESET = "/auth/reset-password"

ALICE = "alice@example.com"
INACTIVE = "inactive@example.com"
CASE_PASSWORD = "the case's new passphrase"
"""The password the reset cases ask for: whoever has it afterwards was reset by the case."""
REFUSED_PASSWORD = "short"
"""Refused by the example's password policy (under 8 characters)."""
GARBAGE = "not-a-token-at-all"
MB = 1024 * 1024


def address_of(length: int) -> str:
    """A well-formed address of ``length`` characters (over 254, too long to be valid)."""
    return "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * (length - 197) + ".com"


class Token(Enum):
    """Kinds of token a case can carry; `tests.contrib.token_makers` makes each."""

    VALID = "a token just mailed to alice"
    USED = "alice's token, already used for a reset"
    EXPIRED = "alice's token, past its lifetime"
    INACTIVE_USER = "a token of a user deactivated since"
    DELETED_USER = "a token of a user deleted since"
    AFTER_PASSWORD_CHANGE = "alice's token, then alice changed her password"
    AFTER_EMAIL_CHANGE = "alice's token, then alice changed her e-mail address"
    ACCESS = "alice's login (access) token"
    VERIFY = "alice's e-mail verification token"
    FOREIGN_SECRET = "a reset JWT for alice signed with another secret"
    ALG_NONE = "an unsigned (alg: none) reset JWT for alice"


@dataclass(frozen=True)
class Call:
    """One HTTP request; ``body`` is JSON unless ``raw`` is given."""

    path: str
    body: Any = None
    raw: bytes | None = None
    content_type: str | None = "application/json"
    method: str = "POST"

    @property
    def tokens(self) -> list[Token]:
        """The kinds of token the body names, in order."""
        return list(_tokens_in(self.body))

    def content(self, made: dict[Token, str]) -> bytes | None:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return None
        return json.dumps(_substitute(self.body, made)).encode()

    def headers(self) -> dict[str, str]:
        return {} if self.content_type is None else {"Content-Type": self.content_type}


def _substitute(value: Any, made: dict[Token, str]) -> Any:
    if isinstance(value, Token):
        return made[value]
    if isinstance(value, dict):
        return {key: _substitute(item, made) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, made) for item in value]
    return value


def _tokens_in(value: Any) -> Iterator[Token]:
    if isinstance(value, Token):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tokens_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _tokens_in(item)


def forgot(body: Any = None, **options: Any) -> Call:
    return Call(FORGOT, body, **options)


def reset(body: Any = None, **options: Any) -> Call:
    return Call(RESET, body, **options)


def with_token(token: Token | str, password: Any = CASE_PASSWORD) -> Call:
    return reset({"token": token, "password": password})


CASES: dict[str, Call] = {
    # /forgot-password: every well-formed address gets the same 202.
    "forgot: known address": forgot({"email": ALICE}),
    "forgot: known address in another case": forgot({"email": "ALICE@Example.COM"}),
    "forgot: unknown address": forgot({"email": "nobody@example.com"}),
    "forgot: inactive user": forgot({"email": INACTIVE}),
    "forgot: extra fields": forgot({"email": ALICE, "is_superuser": True, "x": [1]}),
    "forgot: internationalised address": forgot({"email": "josé@exämple.com"}),
    "forgot: address with spaces around": forgot({"email": f"  {ALICE} "}),
    # /forgot-password: malformed.
    "forgot: no body": forgot(),
    "forgot: no body, no content type": forgot(content_type=None),
    "forgot: empty object": forgot({}),
    "forgot: not an address": forgot({"email": "not-an-email"}),
    "forgot: address without domain": forgot({"email": "alice@"}),
    "forgot: empty address": forgot({"email": ""}),
    "forgot: address is a number": forgot({"email": 42}),
    "forgot: address is null": forgot({"email": None}),
    "forgot: address is a list": forgot({"email": [ALICE]}),
    "forgot: bare JSON string": forgot(ALICE),
    "forgot: JSON list": forgot([{"email": ALICE}]),
    "forgot: truncated JSON": forgot(raw=b'{"email": "alice@exa'),
    "forgot: form-encoded": forgot(
        raw=b"email=alice%40example.com", content_type="application/x-www-form-urlencoded"
    ),
    "forgot: JSON sent as text/plain": forgot(
        raw=json.dumps({"email": ALICE}).encode(), content_type="text/plain"
    ),
    "forgot: address of 254 characters": forgot({"email": address_of(254)}),
    "forgot: address of 255 characters": forgot({"email": address_of(255)}),
    "forgot: GET": forgot(method="GET", content_type=None),
    # /reset-password: tokens good and bad.
    "reset: valid token": with_token(Token.VALID),
    "reset: valid token, extra fields": reset(
        {"token": Token.VALID, "password": CASE_PASSWORD, "email": "x", "is_superuser": True}
    ),
    "reset: valid token, password refused by the policy": with_token(Token.VALID, REFUSED_PASSWORD),
    "reset: valid token, unicode password": with_token(Token.VALID, "pässwörd ✓ 密码 🔑"),
    "reset: valid token, password of 1024 characters": with_token(Token.VALID, "p" * 1024),
    "reset: valid token, password with spaces around": with_token(Token.VALID, "  spaced out  "),
    "reset: used token": with_token(Token.USED),
    "reset: expired token": with_token(Token.EXPIRED),
    "reset: token of a deactivated user": with_token(Token.INACTIVE_USER),
    "reset: token of a deleted user": with_token(Token.DELETED_USER),
    "reset: token from before a password change": with_token(Token.AFTER_PASSWORD_CHANGE),
    "reset: access token": with_token(Token.ACCESS),
    "reset: verification token": with_token(Token.VERIFY),
    "reset: token signed with another secret": with_token(Token.FOREIGN_SECRET),
    "reset: unsigned token": with_token(Token.ALG_NONE),
    "reset: garbage token": with_token(GARBAGE),
    "reset: garbage token, refused password": with_token(GARBAGE, REFUSED_PASSWORD),
    "reset: token of 1024 characters": with_token("t" * 1024),
    "reset: token with a trailing space": with_token(f"{GARBAGE} "),
    # /reset-password: malformed.
    "reset: no body": reset(),
    "reset: no body, no content type": reset(content_type=None),
    "reset: empty object": reset({}),
    "reset: missing token": reset({"password": CASE_PASSWORD}),
    "reset: missing password": reset({"token": GARBAGE}),
    "reset: token is a number": reset({"token": 12345, "password": CASE_PASSWORD}),
    "reset: token is null": reset({"token": None, "password": CASE_PASSWORD}),
    "reset: token is an object": reset({"token": {"a": "b"}, "password": CASE_PASSWORD}),
    "reset: password is a number": reset({"token": GARBAGE, "password": 12345678}),
    "reset: password is a bool": reset({"token": GARBAGE, "password": True}),
    "reset: password is null": reset({"token": GARBAGE, "password": None}),
    "reset: both wrong types": reset({"token": 1, "password": [2]}),
    "reset: JSON list": reset([GARBAGE, CASE_PASSWORD]),
    "reset: bare JSON string": reset(GARBAGE),
    "reset: JSON null": reset(raw=b"null"),
    "reset: truncated JSON": reset(raw=b'{"token": "abc", "password":'),
    "reset: form-encoded": reset(
        raw=b"token=abc&password=abcdefgh", content_type="application/x-www-form-urlencoded"
    ),
    "reset: JSON sent as text/plain": reset(
        raw=json.dumps({"token": GARBAGE, "password": CASE_PASSWORD}).encode(),
        content_type="text/plain",
    ),
    "reset: GET": reset(method="GET", content_type=None),
}
