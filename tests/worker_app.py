"""An application for ``uvicorn tests.worker_app:app --workers N``, configured by environment.

tests/test_workers.py starts it in several worker processes sharing one user database (and,
in Redis mode, one Redis) to race resets with one token across processes. It uses only the
library's public API, wired as an application would.

Settings (all required when ``app`` is first read):

- ``WORKER_APP_DATABASE_URL``: ``sqlite+aiosqlite:///<file>`` or ``postgresql+asyncpg://...``;
  the tables exist already (the test creates them before the workers start).
- ``WORKER_APP_TOKENS``: ``jwt`` or ``redis``; in Redis mode also ``WORKER_APP_REDIS_URL`` and
  ``WORKER_APP_KEY_PREFIX``.
- ``WORKER_APP_SECRET``: the reset-token and access-token secret.
- ``WORKER_APP_HOOK_DIR``: where the hooks record their calls, one line per call:
  ``forgot-tokens`` (each token mailed) and ``reset-users`` (each user whose reset completed).
- ``WORKER_APP_POLICY_SECONDS`` (optional, default 0): how long the password policy
  (``validate_password``) takes before it accepts a password. A reset runs it after reading
  the token and before consuming it, where a production-cost argon2 hash would spend its tens
  of milliseconds (these workers hash with ``CHEAPEST``): a delay here keeps concurrent resets
  in flight together between their read of the token and their use of it. Each call records
  the worker's pid in ``policy-calls``: a reset got that far only if it found the token valid.

Every response carries the serving worker's process id in ``X-Worker-Pid``.

The application is built on first access to ``app``, so that the test can import the tables
and models below without these settings.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import redis.asyncio
from argon2.profiles import CHEAPEST
from fastapi import FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from fastapi_password_reset import BackgroundWork, FastAPIUsers, PasswordHelper, models
from fastapi_password_reset.authentication import JWTAuthentication
from fastapi_password_reset.db.sqlalchemy import SQLAlchemyBaseUserTable, SQLAlchemyUserDatabase
from fastapi_password_reset.tokens import JWTResetTokenStrategy, RedisResetTokenStrategy
from tests.uvicorn_workers import WorkerPidHeader

FORGOT_TOKENS_FILE = "forgot-tokens"
RESET_USERS_FILE = "reset-users"
POLICY_CALLS_FILE = "policy-calls"


class User(models.BaseUser):
    pass


class UserCreate(models.BaseUserCreate):
    pass


class UserUpdate(User, models.BaseUserUpdate):
    pass


class UserDB(User, models.BaseUserDB):
    pass


class Base(DeclarativeBase):
    pass


class UserTable(SQLAlchemyBaseUserTable, Base):
    pass


def append_line(path: Path, line: str) -> None:
    """Append one line with a single write on a file opened in append mode for this call.

    O_APPEND makes each such short write land whole at the end of the file, so lines written
    by several processes at once never interleave.
    """
    with path.open("a", encoding="utf-8") as file:
        file.write(line + "\n")


def create_app() -> FastAPI:
    """The application over the stores and hook directory named by the environment."""
    secret = os.environ["WORKER_APP_SECRET"]
    hook_dir = Path(os.environ["WORKER_APP_HOOK_DIR"])
    engine: AsyncEngine = create_async_engine(os.environ["WORKER_APP_DATABASE_URL"])
    user_db = SQLAlchemyUserDatabase(UserDB, async_sessionmaker(engine), UserTable)

    redis_client: redis.asyncio.Redis | None = None
    strategy: JWTResetTokenStrategy | RedisResetTokenStrategy
    tokens = os.environ["WORKER_APP_TOKENS"]
    if tokens == "jwt":
        strategy = JWTResetTokenStrategy()
    elif tokens == "redis":
        redis_client = redis.asyncio.Redis.from_url(os.environ["WORKER_APP_REDIS_URL"])
        strategy = RedisResetTokenStrategy(
            redis_client, key_prefix=os.environ["WORKER_APP_KEY_PREFIX"]
        )
    else:
        raise ValueError(f"WORKER_APP_TOKENS must be jwt or redis, not {tokens!r}")

    policy_seconds = float(os.environ.get("WORKER_APP_POLICY_SECONDS", "0"))

    async def slow_policy(password: str, user: models.BaseUserCreate | UserDB) -> None:
        """Record the call, then accept every password after ``policy_seconds``."""
        await anyio.to_thread.run_sync(append_line, hook_dir / POLICY_CALLS_FILE, str(os.getpid()))
        await anyio.sleep(policy_seconds)

    auth = JWTAuthentication(secret=secret, lifetime_seconds=3600, tokenUrl="auth/jwt/login")
    users = FastAPIUsers(
        user_db,
        [auth],
        User,
        UserCreate,
        UserUpdate,
        UserDB,
        validate_password=slow_policy if policy_seconds > 0 else None,
        password_helper=PasswordHelper(CHEAPEST),
        background=BackgroundWork(
            drain_timeout_seconds=float(os.environ.get("WORKER_APP_DRAIN_SECONDS", "10"))
        ),
    )

    mail_seconds = float(os.environ.get("WORKER_APP_MAIL_SECONDS", "0"))

    def on_after_forgot_password(user: UserDB, token: str, request: Request) -> None:
        append_line(hook_dir / FORGOT_TOKENS_FILE, token)
        time.sleep(mail_seconds)  # a mailer that takes its time, or hangs

    def on_after_reset_password(user: UserDB, request: Request) -> None:
        append_line(hook_dir / RESET_USERS_FILE, str(user.id))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if redis_client is not None:
            await redis_client.aclose()
        await engine.dispose()

    application = FastAPI(lifespan=lifespan)
    application.add_middleware(WorkerPidHeader)
    application.include_router(
        users.get_reset_password_router(
            secret,
            3600,
            on_after_forgot_password,
            on_after_reset_password,
            token_strategy=strategy,
        ),
        prefix="/auth",
    )
    application.include_router(users.get_register_router(), prefix="/auth")
    application.include_router(users.get_auth_router(auth), prefix="/auth/jwt")

    @application.get("/pid")
    async def pid() -> int:
        """The process id of the worker serving this request."""
        return os.getpid()

    return application


_built: dict[str, FastAPI] = {}


def __getattr__(name: str) -> FastAPI:
    """``app``, built from the environment on first access (uvicorn's import string)."""
    if name == "app":
        if "app" not in _built:
            _built["app"] = create_app()
        return _built["app"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
