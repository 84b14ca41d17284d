"""A reset token is used exactly once when worker processes race with it.

``uvicorn tests.worker_app:app --workers N`` serves one user database (SQLite file or a real
PostgreSQL) and, in Redis mode, one real Redis. One token, many concurrent resets spread over
the workers: exactly one may succeed, in both token modes (DESIGN sections 2 and 7).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import anyio
import httpx
import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from fastapi_password_reset import PasswordHelper
from fastapi_password_reset.db.sqlalchemy import SQLAlchemyUserDatabase
from tests.postgres_server import PostgresServer
from tests.redis_servers import RedisServer
from tests.uvicorn_workers import PID_HEADER, eventually
from tests.uvicorn_workers import uvicorn_workers as start_workers
from tests.worker_app import (
    FORGOT_TOKENS_FILE,
    POLICY_CALLS_FILE,
    RESET_USERS_FILE,
    Base,
    UserDB,
    UserTable,
)

pytestmark = pytest.mark.anyio

SECRET = "worker-test-secret-long-enough-for-hs256-0123456789"
EMAIL = "racer@example.com"
WORKERS = 4
REQUESTS = 30
# How long each reset is held between reading the token and consuming it (see
# tests/worker_app.py): longer than it takes to send all REQUESTS, so they overlap for sure.
POLICY_SECONDS = 0.5
HOOK_SETTLE_SECONDS = 1.0
HOOK_SETTLE_TIMEOUT = 10.0


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


async def settled_lines(path: Path) -> list[str]:
    """The file's lines once it has not changed for HOOK_SETTLE_SECONDS (bounded wait)."""
    deadline = time.monotonic() + HOOK_SETTLE_TIMEOUT
    seen, since = lines(path), time.monotonic()
    while time.monotonic() - since < HOOK_SETTLE_SECONDS:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path.name} kept changing for {HOOK_SETTLE_TIMEOUT} s")
        await anyio.sleep(0.1)
        now = lines(path)
        if now != seen:
            seen, since = now, time.monotonic()
    return seen


def body(answer: httpx.Response) -> object:
    """The answer's JSON, or its text when it is not JSON (a bare 500, say)."""
    try:
        return answer.json()
    except ValueError:
        return answer.text


async def create_user(url: str, password_helper: PasswordHelper) -> UserDB:
    """Fresh tables with one user, made before any worker starts."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.drop_all)
            await connection.run_sync(Base.metadata.create_all)
        user_db = SQLAlchemyUserDatabase(UserDB, async_sessionmaker(engine), UserTable)
        hashed = await password_helper.hash("the old password, before the race")
        return await user_db.create(UserDB(email=EMAIL, hashed_password=hashed))
    finally:
        await engine.dispose()


async def stored_hash(url: str, user: UserDB) -> str:
    engine = create_async_engine(url)
    try:
        stored = await SQLAlchemyUserDatabase(UserDB, async_sessionmaker(engine), UserTable).get(
            user.id
        )
        assert stored is not None
        return stored.hashed_password
    finally:
        await engine.dispose()


@asynccontextmanager
async def uvicorn_workers(
    settings: dict[str, str],
    log: Path,
    stop: signal.Signals = signal.SIGTERM,
    groups: list[int] | None = None,
    workers: int = WORKERS,
) -> AsyncIterator[str]:
    """``uvicorn tests.worker_app:app --workers WORKERS`` (see `tests.uvicorn_workers`);
    yields its base URL, and records its process group in ``groups``."""
    app = "tests.worker_app:app"
    async with start_workers(app, settings, log, workers=workers, stop=stop) as server:
        if groups is not None:
            groups.append(server.pid)  # the process group of the server and its workers
        yield server.base_url


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
@pytest.mark.parametrize("tokens", ["jwt", "redis"])
async def test_one_token_raced_by_many_worker_processes_resets_the_password_once(
    tokens: str, database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Concurrent resets with one token over several worker processes: exactly one succeeds."""
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'users.db'}"
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres")
        url = postgres.url
    password_helper = PasswordHelper(CHEAPEST)
    user = await create_user(url, password_helper)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    settings = {
        "WORKER_APP_DATABASE_URL": url,
        "WORKER_APP_TOKENS": tokens,
        "WORKER_APP_SECRET": SECRET,
        "WORKER_APP_HOOK_DIR": str(hooks),
        "WORKER_APP_POLICY_SECONDS": str(POLICY_SECONDS),
    }
    if tokens == "redis":
        redis_server: RedisServer = request.getfixturevalue("redis_server")
        settings["WORKER_APP_REDIS_URL"] = redis_server.url
        settings["WORKER_APP_KEY_PREFIX"] = f"workers-{uuid.uuid4().hex[:12]}"
    log = tmp_path / "uvicorn.log"
    passwords = [f"new password of racer number {i:02d}" for i in range(REQUESTS)]
    limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=REQUESTS)

    try:
        async with (
            uvicorn_workers(settings, log) as base_url,
            httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client,
        ):
            asked = await client.post("/auth/forgot-password", json={"email": EMAIL})
            assert asked.status_code == 202
            await eventually(lambda: bool(lines(hooks / FORGOT_TOKENS_FILE)), 10, "the reset mail")
            (token,) = lines(hooks / FORGOT_TOKENS_FILE)

            go = anyio.Event()
            answers: dict[int, httpx.Response] = {}

            async def reset(index: int) -> None:
                await go.wait()
                answers[index] = await client.post(
                    "/auth/reset-password", json={"token": token, "password": passwords[index]}
                )

            async with anyio.create_task_group() as racers:
                for index in range(REQUESTS):
                    racers.start_soon(reset, index)
                await anyio.sleep(0.1)  # every racer is waiting on the event
                go.set()

            reset_hook_calls = await settled_lines(hooks / RESET_USERS_FILE)

        statuses = Counter(answer.status_code for answer in answers.values())
        winners = [i for i, answer in answers.items() if answer.status_code == 200]
        refusals = [
            (answer.status_code, body(answer))
            for answer in answers.values()
            if answer.status_code != 200
        ]
        pids = Counter(answer.headers[PID_HEADER] for answer in answers.values())
        # Each line: a reset that found the token valid, still unused, and went on to use it.
        valid_reads = Counter(lines(hooks / POLICY_CALLS_FILE))
        winning_pids = sorted({answers[i].headers[PID_HEADER] for i in winners})
        final_hash = await stored_hash(url, user)
        verifying = [
            i
            for i, password in enumerate(passwords)
            if (await password_helper.verify_and_update(password, final_hash))[0]
        ]
        summary = (
            f"statuses {dict(statuses)}, 200s from workers {winning_pids}, "
            f"requests per worker {dict(pids)}, valid token reads per worker {dict(valid_reads)}, "
            f"{len(reset_hook_calls)} after_reset_password "
            f"calls, winners {winners}, stored password is that of {verifying}"
        )
        print(summary)

        assert len(pids) >= 2, f"the resets did not spread over workers: {summary}"
        assert len(valid_reads) >= 2, f"no two workers raced with the valid token: {summary}"
        assert len(winners) == 1, f"not exactly one reset succeeded: {summary}"
        assert all(
            refusal == (400, {"detail": "RESET_PASSWORD_BAD_TOKEN"}) for refusal in refusals
        ), f"a refusal other than 400 RESET_PASSWORD_BAD_TOKEN: {refusals[:5]} ({summary})"
        assert answers[winners[0]].json() is None
        assert reset_hook_calls == [str(user.id)], summary
        assert verifying == winners, summary
    except BaseException:
        print(f"---- uvicorn output ({log}) ----")
        print(log.read_text(errors="replace") if log.exists() else "(none)")
        raise


async def make_writes_fail(path: Path, password_helper: PasswordHelper) -> tuple[UserDB, str]:
    """A SQLite file whose ``user`` is a view: reads work, every write fails in the database.

    The user's hash has outdated parameters, so a log-in tries to write an upgraded one.
    """
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_async_engine(url)
    outdated = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(OLD_PASSWORD)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        user_db = SQLAlchemyUserDatabase(UserDB, async_sessionmaker(engine), UserTable)
        user = await user_db.create(UserDB(email=EMAIL, hashed_password=outdated))
        async with engine.begin() as connection:
            await connection.exec_driver_sql('ALTER TABLE "user" RENAME TO user_rows')
            await connection.exec_driver_sql('CREATE VIEW "user" AS SELECT * FROM user_rows')
    finally:
        await engine.dispose()
    return user, outdated


OLD_PASSWORD = "the old password, before the failure"


async def test_database_failures_leave_no_secret_in_the_server_log(tmp_path: Path) -> None:
    """Register, log-in rehash and reset fail in the database: uvicorn's log holds no secret."""
    password_helper = PasswordHelper(CHEAPEST)
    user, outdated = await make_writes_fail(tmp_path / "users.db", password_helper)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    settings = {
        "WORKER_APP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'users.db'}",
        "WORKER_APP_TOKENS": "jwt",
        "WORKER_APP_SECRET": SECRET,
        "WORKER_APP_HOOK_DIR": str(hooks),
    }
    log = tmp_path / "uvicorn.log"
    new_password = "a new password that must stay secret"
    async with (
        uvicorn_workers(settings, log) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):
        registered = await client.post(
            "/auth/register", json={"email": "new@example.com", "password": new_password}
        )
        logged_in = await client.post(
            "/auth/jwt/login", data={"username": EMAIL, "password": OLD_PASSWORD}
        )
        await client.post("/auth/forgot-password", json={"email": EMAIL})
        await eventually(lambda: bool(lines(hooks / FORGOT_TOKENS_FILE)), 10, "the reset mail")
        (token,) = lines(hooks / FORGOT_TOKENS_FILE)
        reset = await client.post(
            "/auth/reset-password", json={"token": token, "password": new_password}
        )
    assert (registered.status_code, registered.text) == (500, "Internal Server Error")
    assert (logged_in.status_code, logged_in.text) == (500, "Internal Server Error")
    assert (reset.status_code, reset.json()) == (500, {"detail": "RESET_PASSWORD_NOT_SAVED"})
    output = log.read_text(errors="replace")
    assert "cannot modify user because it is a view" in output  # the failures were logged
    for secret in (new_password, OLD_PASSWORD, outdated, token, "$argon2"):
        assert secret not in output, f"{secret[:12]}… reached the server log:\n{output}"
    assert user.hashed_password == outdated


# One process: uvicorn's own workers leave through os._exit, which would hide a thread that
# holds the interpreter at exit.
@pytest.mark.parametrize("workers", [1, WORKERS], ids=["one-process", "workers"])
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_hanging_mail_hook_does_not_hold_the_server_at_shutdown(
    tmp_path: Path, stop: signal.Signals, workers: int
) -> None:
    """SIGTERM or Ctrl-C with a sync mail hook that never returns: the workers exit after the
    drain timeout, saying they dropped the job, instead of waiting for the hook's thread."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'users.db'}"
    await create_user(url, PasswordHelper(CHEAPEST))
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    settings = {
        "WORKER_APP_DATABASE_URL": url,
        "WORKER_APP_TOKENS": "jwt",
        "WORKER_APP_SECRET": SECRET,
        "WORKER_APP_HOOK_DIR": str(hooks),
        "WORKER_APP_MAIL_SECONDS": "3600",
        "WORKER_APP_DRAIN_SECONDS": "1",
    }
    log = tmp_path / "uvicorn.log"
    groups: list[int] = []
    async with (
        uvicorn_workers(settings, log, stop, groups, workers) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):
        assert (
            await client.post("/auth/forgot-password", json={"email": EMAIL})
        ).status_code == 202
        await eventually(lambda: bool(lines(hooks / FORGOT_TOKENS_FILE)), 10, "the hanging hook")
        stopping = time.monotonic()
    stopped_after = time.monotonic() - stopping
    output = log.read_text(errors="replace")
    assert "job_shed" in output and "reason=shutdown" in output, output
    assert stopped_after < 8, f"shutdown took {stopped_after:.1f} s:\n{output}"

    def group_gone() -> bool:
        try:
            os.killpg(groups[0], 0)
        except ProcessLookupError:
            return True
        return False

    # Every worker too, not only the server process: none may linger on the hook's thread.
    try:
        await eventually(group_gone, 5, "every worker process to exit")
    finally:
        with suppress(ProcessLookupError):
            os.killpg(groups[0], signal.SIGKILL)
