"""No token, password or password hash reaches any log line, on any path."""

from __future__ import annotations

import pytest
from fastapi import Request

from tests.conftest import NEW_PASSWORD, PASSWORD, Harness, UserDB

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
