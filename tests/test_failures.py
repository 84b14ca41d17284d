"""Failures of the stores: nothing is lost, answers stay stable, nothing secret is logged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from pydantic import UUID4

from fastapi_password_reset.db import InMemoryUserDatabase
from fastapi_password_reset.tokens import JWTResetTokenStrategy, TokenStoreUnavailableError
from fastapi_password_reset.tokens.base import U, UserRecord
from tests.conftest import NEW_PASSWORD, PASSWORD, Harness, Outbox, UserDB, build_app

pytestmark = pytest.mark.anyio


class UnreachableStore(JWTResetTokenStrategy):
    """JWT tokens behind a switch that makes every store call fail as a network outage does."""

    down = False

    def _check(self) -> None:
        if self.down:
            raise TokenStoreUnavailableError("connection refused")

    async def issue_token(self, user: UserRecord) -> str:
        self._check()
        return await super().issue_token(user)

    async def read_token(
        self, token: str, get_user: Callable[[UUID4], Awaitable[U | None]]
    ) -> U | None:
        self._check()
        return await super().read_token(token, get_user)

    async def consume_token(self, token: str, user: UserRecord) -> bool:
        self._check()
        return await super().consume_token(token, user)


@pytest.fixture
def strategy() -> UnreachableStore:
    return UnreachableStore()


async def test_reset_answers_503_when_the_token_store_is_down(
    harness: Harness, strategy: UnreachableStore
) -> None:
    """503 TOKEN_STORE_UNAVAILABLE, password unchanged; works again once the store is back."""
    user = await harness.add_user()
    token = await harness.token_for()
    strategy.down = True
    response = await harness.reset(token)
    assert (response.status_code, response.json()) == (
        503,
        {"detail": "RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE"},
    )
    assert await harness.password_works(user.email, PASSWORD)
    strategy.down = False
    assert (await harness.reset(token)).status_code == 200


async def test_forgot_answers_202_and_logs_when_the_token_store_is_down(
    harness: Harness, strategy: UnreachableStore, log_records: pytest.LogCaptureFixture
) -> None:
    """Still 202 null; no hook (there is no token); the error is logged with the user id."""
    user = await harness.add_user()
    strategy.down = True
    response = await harness.forgot(user.email)
    assert (response.status_code, response.content) == (202, b"null")
    assert harness.outbox.forgot == []
    messages = [r.getMessage() for r in log_records.records]
    assert f"forgot-password: token store unavailable, no token for user {user.id}" in messages


class FlakyUpdates:
    """Wraps a user database so that the next update fails, as a lost connection does."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fail_next_update = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def update(self, user: Any) -> Any:
        if self.fail_next_update:
            self.fail_next_update = False
            raise ConnectionError(f"lost the database while writing {user.hashed_password}")
        return await self.inner.update(user)


async def test_a_failed_store_gives_the_token_back(log_records: pytest.LogCaptureFixture) -> None:
    """500 NOT_SAVED, old password intact, the same token then works; the hash is not logged."""
    flaky = FlakyUpdates(InMemoryUserDatabase(UserDB))
    outbox = Outbox()
    app, users, _, _ = build_app(JWTResetTokenStrategy(), outbox, user_db=flaky)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        hashed = await users.password_helper.hash(PASSWORD)
        user = await flaky.create(UserDB(email="alice@example.com", hashed_password=hashed))
        await client.post("/auth/forgot-password", json={"email": user.email})
        await users.background.drain()
        token = outbox.token_for(user.email)

        flaky.fail_next_update = True
        failed = await client.post(
            "/auth/reset-password", json={"token": token, "password": NEW_PASSWORD}
        )
        assert (failed.status_code, failed.json()) == (500, {"detail": "RESET_PASSWORD_NOT_SAVED"})
        stored = await flaky.get(user.id)
        assert stored is not None and stored.hashed_password == hashed
        assert outbox.reset == []

        retried = await client.post(
            "/auth/reset-password", json={"token": token, "password": NEW_PASSWORD}
        )
        assert retried.status_code == 200
        await users.background.drain()

    text = "\n".join(r.getMessage() for r in log_records.records)
    assert f"storing the new password of user {user.id} failed" in text
    assert "ConnectionError" in text and "$argon2" not in text and token not in text
