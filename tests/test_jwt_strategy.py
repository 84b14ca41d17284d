"""JWT reset tokens: every way a token can be wrong is BAD_TOKEN."""

from __future__ import annotations

import base64
import json
import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from fastapi_password_reset import InsecureSecretError
from fastapi_password_reset.tokens import (
    JWTResetTokenStrategy,
    RevocationNotSupportedError,
    StrategyAlreadyBoundError,
    StrategyNotBoundError,
)
from tests.conftest import SECRET, UserDB

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def strategy(clock: Clock) -> JWTResetTokenStrategy:
    strategy = JWTResetTokenStrategy(clock=clock)
    strategy.bind(SECRET, 3600)
    return strategy


@pytest.fixture
def user() -> UserDB:
    return UserDB(email="alice@example.com", hashed_password="$argon2id$v=19$m=8,t=1,p=1$old")


async def reads_as(strategy: JWTResetTokenStrategy, token: str, user: UserDB) -> bool:
    """Whether the token reads as valid and bound to the user as they are."""
    ticket = await strategy.read_token(token)
    return ticket is not None and strategy.is_current(ticket, user)


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def sign(claims: dict[str, Any], key: str = SECRET, **headers: Any) -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers=headers or None)


async def test_a_fresh_token_reads_as_its_user(
    strategy: JWTResetTokenStrategy, user: UserDB
) -> None:
    """The token reads back as the user it was issued for."""
    token = await strategy.issue_token(user)
    assert token is not None
    assert await reads_as(strategy, token, user)


async def test_the_token_carries_sub_aud_exp_and_a_fingerprint_but_no_hash(
    strategy: JWTResetTokenStrategy, user: UserDB, clock: Clock
) -> None:
    """Claims: sub (and user_id, 5-7's name), aud=fastapi-users:reset, exp=now+lifetime, and
    a keyed fingerprint."""
    token = await strategy.issue_token(user)
    assert token is not None
    claims = claims_of(token)
    assert claims["sub"] == claims["user_id"] == str(user.id)
    assert claims["aud"] == "fastapi-users:reset"
    assert claims["exp"] == int(clock.now) + 3600
    assert set(claims) == {"sub", "user_id", "aud", "exp", "pfp"}
    assert user.hashed_password not in token and "argon2" not in json.dumps(claims)


def _forged(user: UserDB, fingerprint: str, clock: Clock) -> dict[str, Callable[[], str]]:
    good: dict[str, Any] = {"sub": str(user.id), "aud": "fastapi-users:reset"}
    good.update(exp=int(clock.now) + 60, pfp=fingerprint)

    def without(claim: str) -> str:
        return sign({k: v for k, v in good.items() if k != claim})

    def alg_none() -> str:
        header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=")
        body = base64.urlsafe_b64encode(json.dumps(good).encode()).rstrip(b"=")
        return (header + b"." + body + b".").decode()

    def hs512() -> str:
        # The right key under another algorithm: refused because only HS256 is accepted.
        with warnings.catch_warnings():
            # Newer PyJWT releases warn that the key is short for HS512: the point here.
            warnings.simplefilter("ignore")
            return jwt.encode(good, SECRET, algorithm="HS512")

    def tampered() -> str:
        token = sign(good)
        head, body, signature = token.split(".")
        flipped = "A" if signature[0] != "A" else "B"
        return f"{head}.{body}.{flipped}{signature[1:]}"

    def swapped_payload() -> str:
        head, _, signature = sign(good).split(".")
        other = dict(good, sub=str(uuid.uuid4()))
        body = base64.urlsafe_b64encode(json.dumps(other).encode()).rstrip(b"=").decode()
        return f"{head}.{body}.{signature}"

    return {
        "expired": lambda: sign(dict(good, exp=int(clock.now) - 1)),
        "expiring-now": lambda: sign(dict(good, exp=int(clock.now))),
        "wrong audience": lambda: sign(dict(good, aud="fastapi-users:auth")),
        "verify audience": lambda: sign(dict(good, aud="fastapi-users:verify")),
        "alg none": alg_none,
        "HS512 with the right key": hs512,
        "other secret": lambda: sign(good, key="another-secret-that-is-also-32-bytes-long!"),
        "missing sub": lambda: without("sub"),
        "missing aud": lambda: without("aud"),
        "missing exp": lambda: without("exp"),
        "missing fingerprint": lambda: without("pfp"),
        "int id of another user": lambda: sign(dict(good, sub="42")),
        "sub neither a uuid nor an int": lambda: sign(dict(good, sub="user-42")),
        "integer sub": lambda: sign(dict(good, sub=42)),
        "unknown user": lambda: sign(dict(good, sub=str(uuid.uuid4()))),
        "string exp": lambda: sign(dict(good, exp="never")),
        "wrong fingerprint": lambda: sign(dict(good, pfp="AAAAAAAAAAAAAAAAAAAAAA")),
        "list fingerprint": lambda: sign(dict(good, pfp=["x"])),
        "tampered signature": tampered,
        "swapped payload": swapped_payload,
        "truncated": lambda: sign(good)[:-5],
        "not a jwt": lambda: "definitely.not.ajwt",
        "empty": lambda: "",
        "non-ascii": lambda: sign(good) + "é",
        "huge": lambda: "a" * 5000,
    }


async def test_forged_and_malformed_tokens_read_as_nobody(
    strategy: JWTResetTokenStrategy, user: UserDB, clock: Clock
) -> None:
    """Expired, wrong audience, alg none, other secret, bad sub, tampering: all None."""
    genuine = await strategy.issue_token(user)
    assert genuine is not None
    fingerprint = claims_of(genuine)["pfp"]
    for case, make in _forged(user, fingerprint, clock).items():
        token = make()
        assert not await reads_as(strategy, token, user), case


async def test_the_forgery_table_is_right_apart_from_its_flaw(
    strategy: JWTResetTokenStrategy, user: UserDB, clock: Clock
) -> None:
    """Control: unflawed claims signed the same way are accepted, so each case tests one flaw."""
    genuine = await strategy.issue_token(user)
    assert genuine is not None
    good = {"sub": str(user.id), "aud": "fastapi-users:reset", "exp": int(clock.now) + 60}
    good["pfp"] = claims_of(genuine)["pfp"]
    assert await reads_as(strategy, sign(good), user)


async def test_a_token_expires_after_its_lifetime(
    strategy: JWTResetTokenStrategy, user: UserDB, clock: Clock
) -> None:
    """Valid one second before the lifetime ends, dead at its end."""
    token = await strategy.issue_token(user)
    assert token is not None
    clock.now += 3599
    ticket = await strategy.read_token(token)
    assert ticket is not None and strategy.is_current(ticket, user)
    clock.now += 1
    assert await strategy.read_token(token) is None
    assert await strategy.consume_token(ticket) is False  # expired while the reset hashed


@pytest.mark.parametrize(
    "change",
    [{"hashed_password": "$argon2id$v=19$m=8,t=1,p=1$new"}, {"email": "alice@new.example.com"}],
)
async def test_a_password_or_email_change_kills_the_token(
    strategy: JWTResetTokenStrategy, user: UserDB, change: dict[str, str]
) -> None:
    """Once the stored hash or e-mail changes, the fingerprint no longer matches."""
    token = await strategy.issue_token(user)
    assert token is not None
    assert await reads_as(strategy, token, user)
    assert not await reads_as(strategy, token, user.model_copy(update=change))


async def test_a_token_for_another_user_id_does_not_match(
    strategy: JWTResetTokenStrategy, user: UserDB
) -> None:
    """Same e-mail and hash under another id: not this token's user."""
    token = await strategy.issue_token(user)
    assert token is not None
    assert not await reads_as(strategy, token, user.model_copy(update={"id": uuid.uuid4()}))


async def test_a_token_may_get_its_own_lifetime(
    strategy: JWTResetTokenStrategy, user: UserDB, clock: Clock
) -> None:
    """Application code can issue a token shorter-lived than the router's."""
    token = await strategy.issue_token(user, lifetime_seconds=60)
    assert token is not None
    assert claims_of(token)["exp"] == int(clock.now) + 60
    with pytest.raises(ValueError, match="positive"):
        await strategy.issue_token(user, lifetime_seconds=0)


@pytest.mark.parametrize("secret", ["SECRET", "x" * 31, "é" * 15])
def test_short_secrets_are_refused(secret: str) -> None:
    """Fewer than 32 bytes (not characters) is refused with the reason."""
    with pytest.raises(InsecureSecretError, match="at least 32 bytes"):
        JWTResetTokenStrategy().bind(secret, 3600)


async def test_an_unbound_strategy_says_what_to_do(user: UserDB) -> None:
    """Using a strategy no router bound raises a clear error."""
    with pytest.raises(StrategyNotBoundError, match="get_reset_password_router"):
        await JWTResetTokenStrategy().issue_token(user)


def test_binding_twice_needs_the_same_settings() -> None:
    """Same settings again are fine; another secret or lifetime is an error."""
    strategy = JWTResetTokenStrategy()
    strategy.bind(SECRET, 3600)
    strategy.bind(SECRET, 3600)
    with pytest.raises(StrategyAlreadyBoundError):
        strategy.bind(SECRET, 60)
    with pytest.raises(StrategyAlreadyBoundError):
        strategy.bind(SECRET + "!", 3600)


@pytest.mark.parametrize("lifetime", [0, -5, 1.5, True])
def test_the_lifetime_must_be_a_positive_int(lifetime: Any) -> None:
    """A zero, negative or non-integer lifetime is refused at binding."""
    with pytest.raises((ValueError, TypeError)):
        JWTResetTokenStrategy().bind(SECRET, lifetime)


async def test_revocation_is_refused_with_a_pointer_to_redis(
    strategy: JWTResetTokenStrategy,
) -> None:
    """JWT tokens are stateless: revoke raises, naming the Redis strategy."""
    with pytest.raises(RevocationNotSupportedError, match="RedisResetTokenStrategy"):
        await strategy.revoke_token("anything")
    with pytest.raises(RevocationNotSupportedError, match="RedisResetTokenStrategy"):
        await strategy.revoke_user_tokens(uuid.uuid4())


def test_real_clock_is_the_default() -> None:
    """Without an injected clock, expiry follows wall time."""
    strategy = JWTResetTokenStrategy()
    assert strategy._clock is time.time
