"""What forgot-password does after its 202: the mail throttle, unknown addresses, decoy work."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from argon2.profiles import CHEAPEST
from fastapi import FastAPI, Request

from fastapi_password_reset import FastAPIUsers, PasswordHelper
from fastapi_password_reset.db import InMemoryUserDatabase
from fastapi_password_reset.tokens import (
    JWTResetTokenStrategy,
    RedisResetTokenStrategy,
    ResetTokenStrategy,
)
from tests.conftest import (
    PASSWORD,
    SECRET,
    User,
    UserCreate,
    UserDB,
    UserUpdate,
    make_redis_client,
    strategy_of_kind,
    unique_prefix,
)

pytestmark = pytest.mark.anyio


class Recorder:
    """The hooks of an application, noting what they were given."""

    def __init__(self) -> None:
        self.known: list[str] = []
        self.unknown: list[str] = []

    async def known_hook(self, user: UserDB, token: str, request: Request) -> None:
        self.known.append(user.email)

    def unknown_hook(self, email: str, request: Request) -> None:
        assert request.url.path.endswith("/forgot-password")
        self.unknown.append(email)


async def app_with_defaults(
    strategy: ResetTokenStrategy, recorder: Recorder, **router_options: Any
) -> tuple[FastAPI, FastAPIUsers[UserDB]]:
    """The seed's setup, leaving every option of the reset router at its default."""
    users = FastAPIUsers(
        InMemoryUserDatabase(UserDB), [], User, UserCreate, UserUpdate, UserDB,
        password_helper=PasswordHelper(CHEAPEST),
    )  # fmt: skip
    hashed = await users.password_helper.hash(PASSWORD)
    await users.db.create(UserDB(email="alice@example.com", hashed_password=hashed))
    await users.db.create(UserDB(email="off@example.com", hashed_password=hashed, is_active=False))
    app = FastAPI()
    router = users.get_reset_password_router(
        SECRET, 3600, recorder.known_hook, token_strategy=strategy, **router_options
    )
    app.include_router(router, prefix="/auth")
    return app, users


async def ask(app: FastAPI, users: FastAPIUsers[UserDB], *emails: str) -> list[int]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        codes = []
        for email in emails:
            codes.append(
                (await client.post("/auth/forgot-password", json={"email": email})).status_code
            )
            await users.background.drain()
    return codes


async def test_reset_mails_are_throttled_by_default(strategy: ResetTokenStrategy) -> None:
    """Without any setting, a second request within a minute answers 202 and sends nothing."""
    recorder = Recorder()
    app, users = await app_with_defaults(strategy, recorder)
    assert await ask(app, users, *["alice@example.com"] * 3) == [202] * 3
    assert recorder.known == ["alice@example.com"]


async def test_zero_turns_the_throttle_off(strategy: ResetTokenStrategy) -> None:
    """min_interval_seconds=0: every request mails."""
    recorder = Recorder()
    app, users = await app_with_defaults(strategy, recorder, min_interval_seconds=0)
    await ask(app, users, *["alice@example.com"] * 3)
    assert recorder.known == ["alice@example.com"] * 3


async def test_the_unknown_address_hook_gets_what_has_no_active_account(
    strategy: ResetTokenStrategy,
) -> None:
    """after_forgot_password_unknown(email, request): unknown and inactive, never a known one."""
    recorder = Recorder()
    app, users = await app_with_defaults(
        strategy, recorder, after_forgot_password_unknown=recorder.unknown_hook
    )
    codes = await ask(app, users, "nobody@example.com", "off@example.com", "alice@example.com")
    assert codes == [202, 202, 202]
    assert recorder.unknown == ["nobody@example.com", "off@example.com"]
    assert recorder.known == ["alice@example.com"]


class DecoyCounter(JWTResetTokenStrategy):
    """A JWT strategy that counts the work it does for nobody."""

    decoys = 0

    async def issue_decoy(self) -> None:
        DecoyCounter.decoys += 1
        await super().issue_decoy()


async def test_an_unknown_address_costs_an_issue_too() -> None:
    """The strategy's issue work runs for unknown and inactive addresses (as a decoy)."""
    DecoyCounter.decoys = 0
    recorder = Recorder()
    app, users = await app_with_defaults(DecoyCounter(), recorder)
    await ask(app, users, "nobody@example.com", "off@example.com", "alice@example.com")
    assert DecoyCounter.decoys == 2


@pytest.mark.parametrize("store", ["fakeredis", "redis", "redis-cluster"])
async def test_a_redis_decoy_stores_nothing(store: str, request: pytest.FixtureRequest) -> None:
    """The decoy runs the issue script, which writes no key for it."""
    client = make_redis_client(store, request)
    strategy = RedisResetTokenStrategy(client, key_prefix=unique_prefix())
    app, users = await app_with_defaults(strategy, Recorder())
    await ask(app, users, "nobody@example.com", "off@example.com")
    keys = [key async for key in client.scan_iter(match=f"{strategy.key_prefix}:*")]
    assert keys == []
    await client.aclose()


async def test_an_unknown_address_copies_a_user_model_too() -> None:
    """The no-account path copies a decoy model, as the in-memory store copies a found user."""
    copied: list[str] = []

    class CountedUserDB(UserDB):
        def model_copy(self, *args: Any, **kwargs: Any) -> Any:
            copied.append(self.email)
            return super().model_copy(*args, **kwargs)

    users = FastAPIUsers(
        InMemoryUserDatabase(CountedUserDB), [], User, UserCreate, UserUpdate, CountedUserDB,
        password_helper=PasswordHelper(CHEAPEST),
    )  # fmt: skip
    service = users.get_reset_password_service(SECRET)
    assert await service.forgot_password("nobody@example.com") is not None
    assert copied == ["decoy@example.com"]


@pytest.mark.parametrize("kind", ["jwt", "fakeredis", "redis", "redis-cluster", "codes-fakeredis"])
async def test_a_failed_mail_does_not_swallow_the_users_next_request(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """The throttle counts mails handed over: after a failing hook, the next request within
    the interval is mailed (with a new token; the failed one is dead where it can be), and
    the one after that is throttled again."""
    tokens: list[str] = []
    failures = [RuntimeError("the mail server said 421")]

    async def flaky_mailer(user: UserDB, token: str, request: Request) -> None:
        tokens.append(token)
        if failures:
            raise failures.pop()

    async with strategy_of_kind(kind, request) as strategy:
        users = FastAPIUsers(
            InMemoryUserDatabase(UserDB), [], User, UserCreate, UserUpdate, UserDB,
            password_helper=PasswordHelper(CHEAPEST),
        )  # fmt: skip
        hashed = await users.password_helper.hash(PASSWORD)
        user = await users.db.create(UserDB(email="alice@example.com", hashed_password=hashed))
        app = FastAPI()
        app.include_router(
            users.get_reset_password_router(SECRET, 3600, flaky_mailer, token_strategy=strategy),
            prefix="/auth",
        )
        assert await ask(app, users, *["alice@example.com"] * 3) == [202] * 3
        assert len(tokens) == 2, "the request after the failed mail must be mailed, once"
        failed, mailed = tokens
        if kind != "jwt":  # a JWT cannot be revoked (nor told apart within one second)
            assert failed != mailed
            assert await strategy.read_token(failed, user_id=user.id) is None
        assert await strategy.read_token(mailed, user_id=user.id) is not None
