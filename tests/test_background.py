"""Work after the response: bounded, on threads of its own, with a drain deadline."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest
from fastapi import Request

from fastapi_password_reset import BackgroundWork
from fastapi_password_reset.tokens import JWTResetTokenStrategy
from tests.conftest import PASSWORD, Outbox, UserDB, build_app

pytestmark = pytest.mark.anyio


async def test_at_most_max_pending_jobs_wait_and_the_oldest_is_shed() -> None:
    """With the running and waiting slots full, each new job sheds the oldest waiting one."""
    work = BackgroundWork(max_pending=3, max_running=1)
    dropped: list[tuple[int, str]] = []
    work.on_shed = lambda count, why: dropped.append((count, why))
    release = asyncio.Event()
    ran: list[int] = []

    async def blocker() -> None:
        await release.wait()

    async def job(number: int) -> None:
        ran.append(number)

    work.submit(blocker)
    for number in range(6):
        work.submit(job, number)
    assert (work.pending, work.shed) == (4, 3)
    assert dropped == [(1, "overflow")] * 3
    release.set()
    assert await work.drain() == 0
    assert ran == [3, 4, 5]
    assert work.pending == 0


@pytest.mark.parametrize("bad", [{"max_pending": 0}, {"hook_threads": 0}, {"max_running": 1.5}])
def test_bounds_must_be_positive_ints(bad: dict[str, Any]) -> None:
    """A bound that cannot work is refused at construction."""
    with pytest.raises(ValueError, match="positive int"):
        BackgroundWork(**bad)


async def test_drain_stops_waiting_at_its_deadline_and_says_how_many_it_abandoned(
    log_records: pytest.LogCaptureFixture,
) -> None:
    """A job that never ends: drain returns after the deadline, cancels it, reports it."""
    work = BackgroundWork(drain_timeout_seconds=0.2)
    work.submit(asyncio.Event().wait)
    started = time.monotonic()
    assert await work.drain() == 1
    assert time.monotonic() - started < 2
    assert work.pending == 0
    assert "dropped 1 job(s) (shutdown)" in log_records.text


async def test_a_hanging_sync_hook_is_abandoned_at_shutdown() -> None:
    """The application's shutdown (the router's lifespan) waits only the drain timeout."""
    hanging = threading.Event()
    outbox = Outbox()
    work = BackgroundWork(drain_timeout_seconds=0.3)
    app, users, user_db, _ = build_app(JWTResetTokenStrategy(), outbox, background=work)

    def hang(user: UserDB, token: str, request: Request) -> None:
        hanging.wait(30)

    app.include_router(
        users.get_reset_password_router(SECRET_FOR_HOOKS, 3600, hang), prefix="/hanging"
    )
    hashed = await users.password_helper.hash(PASSWORD)
    await user_db.create(UserDB(email="alice@example.com", hashed_password=hashed))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                await client.post("/hanging/forgot-password", json={"email": "alice@example.com"})
            await asyncio.sleep(0.1)
            started = time.monotonic()
        assert time.monotonic() - started < 2
        assert work.shed == 1
    finally:
        hanging.set()


SECRET_FOR_HOOKS = "another-secret-for-the-hanging-router-0123456789"


async def test_slow_sync_hooks_leave_the_applications_threads_free() -> None:
    """Fifty reset mails stuck in a sync hook: the app's own sync endpoint still answers,
    and no more hooks run at once than the background work has threads."""
    stuck = threading.Event()
    running, most_at_once = 0, 0
    lock = threading.Lock()
    work = BackgroundWork(hook_threads=3)
    outbox = Outbox()
    app, users, user_db, _ = build_app(JWTResetTokenStrategy(), outbox, background=work)

    def slow_mailer(user: UserDB, token: str, request: Request) -> None:
        nonlocal running, most_at_once
        with lock:
            running += 1
            most_at_once = max(most_at_once, running)
        stuck.wait(30)
        with lock:
            running -= 1

    app.include_router(
        users.get_reset_password_router(
            SECRET_FOR_HOOKS, 3600, slow_mailer, min_interval_seconds=0
        ),
        prefix="/slow",
    )

    @app.get("/sync-endpoint")
    def sync_endpoint() -> str:  # FastAPI runs it in AnyIO's thread pool
        return "fine"

    hashed = await users.password_helper.hash(PASSWORD)
    await user_db.create(UserDB(email="alice@example.com", hashed_password=hashed))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for _ in range(50):  # more than AnyIO's 40 threads
                await client.post("/slow/forgot-password", json={"email": "alice@example.com"})
            await asyncio.sleep(0.3)
            answer = await asyncio.wait_for(client.get("/sync-endpoint"), 5)
            login = await asyncio.wait_for(harness_login(client), 5)
        assert answer.json() == "fine"
        assert login.status_code == 200
        assert most_at_once == 3
        assert work.pending == 50
    finally:
        stuck.set()
    assert await work.drain() == 0


async def harness_login(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(
        "/auth/jwt/login", data={"username": "alice@example.com", "password": PASSWORD}
    )


async def test_hook_threads_are_daemons_that_carry_the_callers_context() -> None:
    """Sync hooks run on daemon threads of the library's own, with the caller's context."""
    import contextvars

    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="none")
    marker.set("the request's")
    work = BackgroundWork(hook_threads=2)

    def look() -> tuple[bool, str, str]:
        thread = threading.current_thread()
        return thread.daemon, thread.name, marker.get()

    daemon, name, seen = await work.run_sync(look)
    assert (daemon, seen) == (True, "the request's")
    assert name.startswith("fastapi-password-reset-hook-")

    def fail() -> None:
        raise LookupError("a hook's own error")

    with pytest.raises(LookupError, match="own error"):
        await work.run_sync(fail)
