"""PasswordResetService without HTTP: the flow an application can call from its own code."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from argon2.profiles import CHEAPEST

from fastapi_password_reset import (
    BadResetTokenError,
    FastAPIUsers,
    ForgotOutcome,
    InvalidPasswordException,
    PasswordHelper,
    PasswordNotSavedError,
    PasswordResetService,
    TokenRefusal,
)
from fastapi_password_reset.authentication import JWTAuthentication
from fastapi_password_reset.db import InMemoryUserDatabase
from fastapi_password_reset.db.base import BaseUserDatabase
from fastapi_password_reset.tokens import (
    JWTResetTokenStrategy,
    RedisResetTokenStrategy,
    ResetTokenStrategy,
)
from tests.conftest import (
    NEW_PASSWORD,
    PASSWORD,
    SECRET,
    User,
    UserCreate,
    UserDB,
    UserUpdate,
    length_policy,
    make_redis_client,
    unique_prefix,
)
from tests.doc_programs import ROOT, run_in_order

pytestmark = pytest.mark.anyio


@pytest.fixture
def mails() -> list[str]:
    """The tokens the service's mail hook was given."""
    return []


@pytest.fixture
def service(strategy: ResetTokenStrategy, mails: list[str]) -> PasswordResetService[UserDB]:
    """The service over each strategy, as FastAPIUsers makes it, with a recording mail hook."""
    users = FastAPIUsers(
        InMemoryUserDatabase(UserDB),
        [JWTAuthentication(SECRET, 3600)],
        User,
        UserCreate,
        UserUpdate,
        UserDB,
        validate_password=length_policy,
        password_helper=PasswordHelper(CHEAPEST),
    )

    def mail(user: UserDB, token: str, request: Any) -> None:
        mails.append(token)

    return users.get_reset_password_service(SECRET, 3600, mail, token_strategy=strategy)


def users_of(service: PasswordResetService[UserDB]) -> BaseUserDatabase[UserDB]:
    """The whole user database the service was given (the service sees only lookups)."""
    return cast("BaseUserDatabase[UserDB]", service.user_db)


async def add_user(service: PasswordResetService[UserDB], **flags: Any) -> UserDB:
    hashed = await service.password_helper.hash(PASSWORD)
    user = UserDB(email="alice@example.com", hashed_password=hashed, **flags)
    return await users_of(service).create(user)


async def test_a_token_issued_by_code_resets_the_password(
    service: PasswordResetService[UserDB],
) -> None:
    """issue_token, check_token, then reset_password: the user as stored afterwards."""
    user = await add_user(service)
    token = await service.issue_token(user)
    assert (await service.check_token(token)).id == user.id
    assert (await service.check_token(token)).id == user.id  # checking uses nothing up
    reset = await service.reset_password(token, NEW_PASSWORD)
    stored = await users_of(service).get(user.id)
    assert stored is not None and reset.hashed_password == stored.hashed_password
    with pytest.raises(BadResetTokenError) as refused:
        await service.check_token(token)
    assert refused.value.reason in (TokenRefusal.INVALID, TokenRefusal.ACCOUNT_CHANGED)


@pytest.mark.parametrize("kind", ["jwt", "redis"])
async def test_code_chooses_the_lifetime_of_a_token(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """A token issued with lifetime_seconds=1 is dead a little over a second later."""
    strategy: ResetTokenStrategy = JWTResetTokenStrategy()
    if kind == "redis":
        client = make_redis_client("redis", request)
        strategy = RedisResetTokenStrategy(client, key_prefix=unique_prefix())
    users = FastAPIUsers(InMemoryUserDatabase(UserDB), [], User, UserCreate, UserUpdate, UserDB,
                         password_helper=PasswordHelper(CHEAPEST))  # fmt: skip
    service = users.get_reset_password_service(SECRET, 3600, token_strategy=strategy)
    user = await add_user(service)
    token = await service.issue_token(user, lifetime_seconds=1)
    assert (await service.check_token(token)).id == user.id
    await asyncio.sleep(1.1)
    with pytest.raises(BadResetTokenError):
        await service.check_token(token)
    if kind == "redis":
        await client.aclose()


async def test_issued_tokens_ignore_the_throttle(redis_client: Any) -> None:
    """The mail throttle applies to forgot-password, not to tokens the application asks for."""
    strategy = RedisResetTokenStrategy(redis_client, key_prefix=unique_prefix())
    users = FastAPIUsers(InMemoryUserDatabase(UserDB), [], User, UserCreate, UserUpdate, UserDB,
                         password_helper=PasswordHelper(CHEAPEST))  # fmt: skip
    service = users.get_reset_password_service(SECRET, token_strategy=strategy)
    user = await add_user(service)
    assert await service.forgot_password(user.email) is ForgotOutcome.TOKEN_SENT
    assert await service.forgot_password(user.email) is ForgotOutcome.THROTTLED
    first, second = await service.issue_token(user), await service.issue_token(user)
    assert first != second
    assert (await service.check_token(second)).id == user.id


async def test_forgot_password_says_what_became_of_the_request(
    service: PasswordResetService[UserDB], mails: list[str]
) -> None:
    """Token sent, no account, inactive account: each outcome is named, and only one mails."""
    await add_user(service)
    assert await service.forgot_password("ALICE@example.com") is ForgotOutcome.TOKEN_SENT
    assert await service.forgot_password("nobody@example.com") is ForgotOutcome.NO_ACCOUNT
    inactive = UserDB(email="off@example.com", hashed_password="$argon2id$x", is_active=False)
    await users_of(service).create(inactive)
    assert await service.forgot_password("off@example.com") is ForgotOutcome.NO_ACCOUNT
    assert len(mails) == 1


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("garbage", TokenRefusal.INVALID),
        ("deleted", TokenRefusal.NO_USER),
        ("deactivated", TokenRefusal.INACTIVE),
        ("renamed", TokenRefusal.ACCOUNT_CHANGED),
        ("used", TokenRefusal.INVALID),
    ],
)
async def test_every_refusal_names_its_reason(
    service: PasswordResetService[UserDB], setup: str, reason: TokenRefusal
) -> None:
    """The reason is for logs and events; the password stays as it was."""
    user = await add_user(service)
    token = await service.issue_token(user)
    if setup == "garbage":
        token = "x" * 40
    elif setup == "deleted":
        await users_of(service).delete(user)
    elif setup in ("deactivated", "renamed"):
        change = {"is_active": False} if setup == "deactivated" else {"email": "al@example.com"}
        await users_of(service).update(user.model_copy(update=change))
    else:
        await service.reset_password(token, NEW_PASSWORD)
    with pytest.raises(BadResetTokenError) as refused:
        await service.reset_password(token, "yet another passphrase")
    # A used Redis token is gone; a used JWT no longer matches the new hash.
    expected = {reason, TokenRefusal.ACCOUNT_CHANGED} if setup == "used" else {reason}
    assert refused.value.reason in expected
    if setup not in ("deleted", "used"):
        stored = await users_of(service).get(user.id)
        assert stored is not None and stored.hashed_password == user.hashed_password


async def test_a_refused_password_leaves_the_token_usable(
    service: PasswordResetService[UserDB],
) -> None:
    """The policy runs before anything is spent."""
    user = await add_user(service)
    token = await service.issue_token(user)
    with pytest.raises(InvalidPasswordException):
        await service.reset_password(token, "short")
    await service.reset_password(token, NEW_PASSWORD)


async def test_the_documented_invitation_sample_works(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/hooks.md: invite() makes a day-long link that token_is_good() accepts."""
    monkeypatch.setenv("SECRET", SECRET)
    namespace = run_in_order(ROOT / "docs" / "hooks.md")
    user_db = namespace["user_db"]
    user = await user_db.create(
        namespace["UserDB"](email="new@example.com", hashed_password="$argon2id$unset")
    )
    link = await namespace["invite"](user)
    token = link.split("#token=")[1]
    assert await namespace["token_is_good"](token) is True
    assert await namespace["token_is_good"](token + "x") is False


async def test_called_from_code_it_still_logs_no_secret(
    log_records: pytest.LogCaptureFixture,
) -> None:
    """Outside any route, a failing write is logged without the token, password or hashes."""

    class QuotingDatabase(InMemoryUserDatabase[UserDB]):
        async def replace_password_hash(self, id: Any, old_hash: str, new_hash: str) -> bool:
            raise ConnectionError(f"lost the database writing {old_hash} -> {new_hash}")

    users = FastAPIUsers(QuotingDatabase(UserDB), [], User, UserCreate, UserUpdate, UserDB,
                         password_helper=PasswordHelper(CHEAPEST))  # fmt: skip
    service = users.get_reset_password_service(SECRET)
    user = await add_user(service)
    token = await service.issue_token(user)
    with pytest.raises(PasswordNotSavedError):
        await service.reset_password(token, NEW_PASSWORD)
    assert "lost the database writing [redacted] -> [redacted]" in log_records.text
    assert token not in log_records.text and "$argon2" not in log_records.text


def test_a_user_database_without_compare_and_set_is_refused_at_once() -> None:
    """A 0.1-style database (five methods) fails when FastAPIUsers is built, not at a reset."""

    class FiveMethods:
        async def get(self, id: Any) -> None: ...

    with pytest.raises(TypeError, match="replace_password_hash"):
        FastAPIUsers(FiveMethods(), [], User, UserCreate, UserUpdate, UserDB)  # type: ignore[arg-type]
