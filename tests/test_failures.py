"""Failures of the stores: nothing is lost, answers stay stable, nothing secret is logged."""

from __future__ import annotations

from typing import Any

import pytest

from fastapi_password_reset.tokens import JWTResetTokenStrategy, TokenStoreUnavailableError
from fastapi_password_reset.tokens.base import ResetTicket, UserRecord
from fastapi_password_reset.tokens.jwt import JWTTicket
from tests.conftest import PASSWORD, Harness, open_harness

pytestmark = pytest.mark.anyio


class UnreachableStore(JWTResetTokenStrategy):
    """JWT tokens behind a switch that makes every store call fail as a network outage does."""

    down = False

    def _check(self) -> None:
        if self.down:
            raise TokenStoreUnavailableError("connection refused")

    async def issue_token(
        self, user: UserRecord, *, lifetime_seconds: int | None = None, throttle: bool = True
    ) -> str | None:
        self._check()
        return await super().issue_token(user, lifetime_seconds=lifetime_seconds)

    async def read_token(self, token: str, *, user_id: Any = None) -> JWTTicket | None:
        self._check()
        return await super().read_token(token)

    async def consume_token(self, ticket: ResetTicket) -> bool:
        self._check()
        return await super().consume_token(ticket)


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
    expected = f"forgot-password: token store unavailable, no token for user {user.id} ("
    assert any(message.startswith(expected) for message in messages)


class RevocationFails(JWTResetTokenStrategy):
    """A store that fails only when asked to revoke the user's other tokens."""

    async def password_changed(self, user: UserRecord) -> None:
        raise RuntimeError("revocation failed")


async def test_a_failed_revocation_after_a_reset_still_answers_200(
    log_records: pytest.LogCaptureFixture,
) -> None:
    """The password is changed, so the answer is 200; the failure is logged."""
    async with open_harness(RevocationFails()) as harness:
        user = await harness.add_user()
        reset = await harness.reset(await harness.token_for())
    assert reset.status_code == 200
    messages = [r.getMessage() for r in log_records.records]
    assert any(
        m.startswith(f"reset-password: could not revoke other tokens of user {user.id}")
        for m in messages
    )
