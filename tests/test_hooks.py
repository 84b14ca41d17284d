"""Hooks: sync or async, the seed's arguments, after the response, failures logged only."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from fastapi_password_reset.tokens import JWTResetTokenStrategy
from tests.conftest import PASSWORD, Harness, Outbox, UserDB, build_app

pytestmark = pytest.mark.anyio


async def asgi_post(app: FastAPI, path: str, body: bytes, on_send: Any) -> None:
    """Drive the app at the ASGI level, reporting each message it sends."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
    }
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            await asyncio.sleep(3600)
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        on_send(message)

    await app(scope, receive, send)


async def test_hooks_run_after_the_response_is_complete(harness: Harness) -> None:
    """When each hook starts, the whole response has already been sent."""
    await harness.add_user()
    sent: list[str] = []
    seen_at_hook: list[list[str]] = []

    def on_send(message: MutableMapping[str, Any]) -> None:
        sent.append(message["type"] + ("" if message.get("more_body") else ":end"))

    async def forgot_hook(user: UserDB, token: str, request: Request) -> None:
        seen_at_hook.append(list(sent))
        harness.outbox.forgot.append((user, token, request))

    def reset_hook(user: UserDB, request: Request) -> None:
        seen_at_hook.append(list(sent))

    app = FastAPI()
    app.include_router(
        harness.users.get_reset_password_router(
            "a-different-secret-for-this-router-only-32b", 3600, forgot_hook, reset_hook
        )
    )
    await asgi_post(app, "/forgot-password", b'{"email": "alice@example.com"}', on_send)
    await harness.users.background.drain()
    token = harness.outbox.token_for("alice@example.com")
    sent.clear()
    body = f'{{"token": "{token}", "password": "new passphrase here"}}'.encode()
    await asgi_post(app, "/reset-password", body, on_send)
    await harness.users.background.drain()
    assert seen_at_hook == [
        ["http.response.start:end", "http.response.body:end"],
        ["http.response.start:end", "http.response.body:end"],
    ]


async def test_the_http_exchange_ends_before_a_slow_hook_does() -> None:
    """A slow mail hook holds neither the response nor the ASGI call (keep-alive stays free)."""
    outbox = Outbox()
    app, users, user_db, _ = build_app(JWTResetTokenStrategy(), outbox)
    release = asyncio.Event()

    async def slow_hook(user: UserDB, token: str, request: Request) -> None:
        await release.wait()

    app.router.routes.clear()
    app.include_router(
        users.get_reset_password_router("secret-for-the-slow-hook-test-0123456789", 60, slow_hook)
    )
    hashed = await users.password_helper.hash(PASSWORD)
    await user_db.create(UserDB(email="alice@example.com", hashed_password=hashed))
    sent: list[MutableMapping[str, Any]] = []
    await asyncio.wait_for(
        asgi_post(app, "/forgot-password", b'{"email": "alice@example.com"}', sent.append), 5
    )
    assert sent[0]["status"] == 202
    assert len(users.background) == 1
    release.set()
    await users.background.drain()
    assert len(users.background) == 0


async def test_sync_hooks_run_in_the_thread_pool(harness: Harness) -> None:
    """A sync hook never runs on the event loop's thread; an async one does."""
    loop_thread = threading.get_ident()
    threads: dict[str, int] = {}

    def sync_forgot(user: UserDB, token: str, request: Request) -> None:
        threads["sync"] = threading.get_ident()
        harness.outbox.forgot.append((user, token, request))

    class AsyncResetHook:
        async def __call__(self, user: UserDB, request: Request) -> None:
            threads["async object"] = threading.get_ident()

    harness.app.include_router(
        harness.users.get_reset_password_router(
            "another-secret-for-this-second-router-32b", 3600, sync_forgot, AsyncResetHook()
        ),
        prefix="/second",
    )
    await harness.add_user()
    await harness.client.post("/second/forgot-password", json={"email": "alice@example.com"})
    await harness.users.background.drain()
    token = harness.outbox.token_for("alice@example.com")
    response = await harness.client.post(
        "/second/reset-password", json={"token": token, "password": "new passphrase here"}
    )
    await harness.users.background.drain()
    assert response.status_code == 200
    assert threads["sync"] != loop_thread
    assert threads["async object"] == loop_thread


async def test_a_failing_hook_is_logged_without_the_token_and_changes_nothing(
    harness: Harness, log_records: pytest.LogCaptureFixture
) -> None:
    """The answer stays 202/200, the log names the user id, never the token or hash."""
    user = await harness.add_user()
    tokens: list[str] = []

    def broken_mailer(user: UserDB, token: str, request: Request) -> None:
        tokens.append(token)
        raise ConnectionError(f"SMTP refused a mail with link https://x/reset#{token} for {user!r}")

    async def broken_reset_hook(user: UserDB, request: Request) -> None:
        raise RuntimeError(f"audit log down while saving {user!r}")

    harness.app.include_router(
        harness.users.get_reset_password_router(
            "yet-another-secret-for-a-third-router-32b", 3600, broken_mailer, broken_reset_hook
        ),
        prefix="/broken",
    )
    forgot = await harness.client.post("/broken/forgot-password", json={"email": user.email})
    await harness.users.background.drain()
    assert (forgot.status_code, forgot.json()) == (202, None)
    reset = await harness.client.post(
        "/broken/reset-password", json={"token": tokens[0], "password": "new passphrase here"}
    )
    await harness.users.background.drain()
    assert (reset.status_code, reset.json()) == (200, None)
    assert await harness.password_works(user.email, "new passphrase here")

    stored = await harness.user_db.get(user.id)
    assert stored is not None
    text = "\n".join(r.getMessage() for r in log_records.records)
    assert "after_forgot_password failed for user " + str(user.id) in text
    assert "after_reset_password failed for user " + str(user.id) in text
    assert "ConnectionError" in text and "RuntimeError" in text
    assert tokens[0] not in text
    assert user.hashed_password not in text and stored.hashed_password not in text
    assert "[redacted]" in text
    assert all(
        r.levelno == logging.ERROR
        for r in log_records.records
        if " failed for user" in r.getMessage()
    )


async def test_shutdown_waits_for_running_hooks() -> None:
    """The router's lifespan drains hooks still running when the app stops."""
    outbox = Outbox()
    finished: list[str] = []

    async def slow_hook(user: UserDB, token: str, request: Request) -> None:
        await asyncio.sleep(0.05)
        finished.append(user.email)

    app, users, user_db, _ = build_app(JWTResetTokenStrategy(), outbox)
    app.include_router(
        users.get_reset_password_router("secret-for-the-shutdown-test-0123456789", 60, slow_hook),
        prefix="/slow",
    )
    hashed = await users.password_helper.hash(PASSWORD)
    await user_db.create(UserDB(email="alice@example.com", hashed_password=hashed))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.post("/slow/forgot-password", json={"email": "alice@example.com"})
        assert finished == []
    assert finished == ["alice@example.com"]
