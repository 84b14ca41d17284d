"""No token, password or password hash reaches any log line, on any path."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import Request

from fastapi_password_reset.db import InMemoryUserDatabase
from fastapi_password_reset.tokens import JWTResetTokenStrategy
from fastapi_password_reset.tokens.jwt import JWTTicket
from tests.conftest import NEW_PASSWORD, PASSWORD, SECRET, Harness, UserDB, open_harness

pytestmark = pytest.mark.anyio


async def test_whole_flows_log_no_secret(
    harness: Harness, log_records: pytest.LogCaptureFixture
) -> None:
    """Register, log in, forgot, refused and failed resets, reset, reuse: logs stay clean."""
    secrets: set[str] = {PASSWORD, NEW_PASSWORD, "short"}

    def leaky_mailer(user: UserDB, token: str, request: Request) -> None:
        secrets.add(token)
        raise RuntimeError(f"cannot send {token} to {user!r}")

    harness.app.include_router(
        harness.users.get_reset_password_router(
            "a-secret-for-the-leaky-mailer-router-0123", 3600, leaky_mailer
        ),
        prefix="/leaky",
    )
    await harness.client.post(
        "/auth/register", json={"email": "alice@example.com", "password": PASSWORD}
    )
    login = await harness.login("alice@example.com", PASSWORD)
    secrets.add(login.json()["access_token"])
    await harness.login("alice@example.com", "a wrong password")
    await harness.client.post("/leaky/forgot-password", json={"email": "alice@example.com"})
    token = await harness.token_for()
    secrets.add(token)
    await harness.reset(token, "short")
    await harness.reset(token[:-3] + "abc")
    await harness.reset(token)
    await harness.reset(token)
    await harness.client.post("/auth/reset-password", json={"token": token, "password": 5})
    await harness.users.background.drain()

    user = await harness.user_db.get_by_email("alice@example.com")
    assert user is not None
    secrets.add(user.hashed_password)
    assert await harness.password_works(user.email, NEW_PASSWORD)
    assert log_records.records, "the failing mailer must have been logged"
    logged = log_records.text + "\n".join(str(r.args) for r in log_records.records)
    for secret in secrets:
        assert secret not in logged
    assert "$argon2" not in logged
    # Not a secret of the contract, but personal data: the mailer's error quoted it.
    assert "alice@example.com" not in logged


class FailingDatabase:
    """A user database whose chosen methods fail quoting their arguments, as drivers do."""

    def __init__(self, inner: InMemoryUserDatabase[UserDB], failing: str) -> None:
        self.inner = inner
        self.failing = failing

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name != self.failing:
            return method

        async def fail(*args: Any) -> Any:
            raise RuntimeError(f"{name} failed with parameters {args!r}")

        return fail


class FailingReads(JWTResetTokenStrategy):
    """A strategy with a bug that quotes the token it could not read."""

    async def read_token(self, token: str, *, user_id: Any = None) -> JWTTicket | None:
        raise ValueError(f"cannot parse {token}")


@pytest.mark.parametrize(
    "failing", ["create", "get_by_email", "get", "replace_password_hash", "read_token", "policy"]
)
async def test_every_route_under_each_failure_answers_and_logs_no_secret(
    failing: str, log_records: pytest.LogCaptureFixture
) -> None:
    """Register, log-in (with a rehash), forgot and reset while one part fails: no secret out."""
    secrets: set[str] = {PASSWORD, NEW_PASSWORD}
    inner = InMemoryUserDatabase(UserDB)

    def policy(password: str, user: Any) -> None:
        if failing == "policy":
            raise RuntimeError(f"policy crashed on {password} for {user!r}")

    strategy = FailingReads() if failing == "read_token" else JWTResetTokenStrategy()
    async with open_harness(
        strategy, FailingDatabase(inner, failing), validate_password=policy
    ) as harness:
        outdated = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
        secrets.add(outdated)
        user = await inner.create(UserDB(email="alice@example.com", hashed_password=outdated))
        token = await strategy.issue_token(user)
        assert token is not None
        secrets.add(token)
        answers = [
            await harness.client.post(
                "/auth/register", json={"email": "bob@example.com", "password": NEW_PASSWORD}
            ),
            await harness.login("alice@example.com", PASSWORD),
            await harness.forgot("alice@example.com"),
            await harness.reset(token),
        ]
        for user_now in [await inner.get(user.id), await inner.get_by_email("bob@example.com")]:
            if user_now is not None:
                secrets.add(user_now.hashed_password)
        for token_mailed in harness.outbox.forgot:
            secrets.add(token_mailed[1])
    for answer in answers:
        assert answer.status_code < 500 or answer.text in (
            "Internal Server Error",
            '{"detail":"RESET_PASSWORD_NOT_SAVED"}',
        ), answer.text
        assert not any(secret in answer.text for secret in secrets)
    assert any(answer.status_code == 500 for answer in answers) or failing == "get_by_email"
    logged = log_records.text + "\n".join(str(r.args) for r in log_records.records)
    assert f"{failing} failed" in logged or "crashed" in logged or "cannot parse" in logged
    for secret in secrets:
        assert secret not in logged, f"{secret[:12]}… was logged"
    assert "$argon2" not in logged


async def test_a_failing_after_register_hook_logs_no_hash(
    log_records: pytest.LogCaptureFixture,
) -> None:
    """The hook runs after the request: it still logs neither the password nor the hash."""
    async with open_harness(JWTResetTokenStrategy()) as harness:

        def welcome(user: UserDB, request: Request) -> None:
            raise RuntimeError(f"welcome mail failed for {user!r}")

        harness.app.include_router(
            harness.users.get_register_router(after_register=welcome), prefix="/hooked"
        )
        answer = await harness.client.post(
            "/hooked/register", json={"email": "bob@example.com", "password": PASSWORD}
        )
        await harness.users.background.drain()
        user = await harness.user_db.get_by_email("bob@example.com")
    assert answer.status_code == 201 and user is not None
    logged = log_records.text
    assert "welcome mail failed for UserDB(" in logged
    assert user.hashed_password not in logged and "$argon2" not in logged
    assert PASSWORD not in logged


async def test_a_failing_after_reset_hook_logs_no_secret(
    log_records: pytest.LogCaptureFixture,
) -> None:
    """A reset hook that quotes everything it can reach logs no token, password or hash."""
    seen: dict[str, str] = {}

    async with open_harness(JWTResetTokenStrategy()) as harness:

        def leaky(user: UserDB, request: Request) -> None:
            raise RuntimeError(f"{user!r} {seen}")

        harness.app.include_router(
            harness.users.get_reset_password_router(SECRET, 3600, None, leaky), prefix="/hooked"
        )
        await harness.add_user()
        seen["token"] = await harness.token_for()
        seen["password"] = NEW_PASSWORD
        answer = await harness.client.post(
            "/hooked/reset-password", json={"token": seen["token"], "password": NEW_PASSWORD}
        )
        await harness.users.background.drain()
    assert answer.status_code == 200
    assert "after_reset_password failed" in log_records.text
    assert seen["token"] not in log_records.text and NEW_PASSWORD not in log_records.text
    assert "$argon2" not in log_records.text
