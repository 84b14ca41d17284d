"""Shared fixtures: an application wired like the seed, with cheap argon2 and recorded hooks."""

from __future__ import annotations

import importlib.util
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fakeredis
import httpx
import pytest
import redis.asyncio
from argon2.profiles import CHEAPEST
from fastapi import Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from fastapi_password_reset import (
    BackgroundWork,
    FastAPIUsers,
    InvalidPasswordException,
    PasswordHelper,
    models,
)
from fastapi_password_reset.authentication import JWTAuthentication
from fastapi_password_reset.db import BaseUserDatabase, InMemoryUserDatabase
from fastapi_password_reset.db.sqlalchemy import SQLAlchemyBaseUserTable, SQLAlchemyUserDatabase
from fastapi_password_reset.tokens import (
    JWTResetTokenStrategy,
    RedisResetCodeStrategy,
    RedisResetTokenStrategy,
    ResetTokenStrategy,
)
from tests.postgres_server import PostgresServer
from tests.redis_servers import RedisCluster, RedisServer, temporary_directory

# The fastapi-users adapter's tests need fastapi-users, which pins versions this environment
# does not have: `make unit` runs them in .venv-fastapi-users (pytest tests/contrib).
collect_ignore = [] if importlib.util.find_spec("fastapi_users") else ["contrib"]

SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase 42"


class User(models.BaseUser):
    pass


class UserCreate(models.BaseUserCreate):
    pass


class UserUpdate(User, models.BaseUserUpdate):
    pass


class UserDB(User, models.BaseUserDB):
    pass


@dataclass
class Outbox:
    """What the hooks saw: reset mails and completed resets."""

    forgot: list[tuple[UserDB, str, Request]] = field(default_factory=list)
    reset: list[tuple[UserDB, Request]] = field(default_factory=list)

    def token_for(self, email: str) -> str:
        tokens = [token for user, token, _ in self.forgot if user.email == email]
        assert tokens, f"no reset mail for {email}"
        return tokens[-1]

    def email_for(self, token: str) -> str:
        """To whom a token was mailed (a code is sent with its address); else an unknown one."""
        sent = [user.email for user, mailed, _ in self.forgot if mailed == token]
        return sent[-1] if sent else "nobody@example.com"


@dataclass
class Harness:
    """An application, its parts, and a client on it."""

    app: FastAPI
    users: FastAPIUsers[UserDB]
    user_db: BaseUserDatabase[UserDB]
    auth: JWTAuthentication
    strategy: ResetTokenStrategy
    outbox: Outbox
    client: httpx.AsyncClient

    async def add_user(self, email: str = "alice@example.com", **flags: Any) -> UserDB:
        hashed = await self.users.password_helper.hash(PASSWORD)
        return await self.user_db.create(UserDB(email=email, hashed_password=hashed, **flags))

    async def forgot(self, email: str) -> httpx.Response:
        response = await self.client.post("/auth/forgot-password", json={"email": email})
        await self.users.background.drain()
        return response

    def token_body(self, token: str, **fields: str) -> dict[str, str]:
        """A request body for ``token``: with a code strategy, the address it was sent to."""
        if self.strategy.requires_email:
            fields.setdefault("email", self.outbox.email_for(token))
        return {"token": token, **fields}

    async def reset(self, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
        response = await self.client.post(
            "/auth/reset-password", json=self.token_body(token, password=password)
        )
        await self.users.background.drain()
        return response

    async def token_for(self, email: str = "alice@example.com") -> str:
        assert (await self.forgot(email)).status_code == 202
        return self.outbox.token_for(email)

    async def password_works(self, email: str, password: str) -> bool:
        user = await self.user_db.get_by_email(email)
        assert user is not None
        verified, _ = await self.users.password_helper.verify_and_update(
            password, user.hashed_password
        )
        return verified

    async def login(self, email: str, password: str) -> httpx.Response:
        return await self.client.post(
            "/auth/jwt/login", data={"username": email, "password": password}
        )


async def length_policy(password: str, user: models.BaseUserCreate | UserDB) -> None:
    """The password policy of the test application: an async hook, as applications write."""
    if len(password) < 12:
        raise InvalidPasswordException(reason="Password should be at least 12 characters")
    if user.email in password:
        raise InvalidPasswordException(reason="Password should not contain the e-mail address")


def build_app(
    strategy: ResetTokenStrategy,
    outbox: Outbox,
    validate_password: Any = length_policy,
    user_db: Any = None,
    password_helper: PasswordHelper | None = None,
    min_interval_seconds: float = 0,
    background: BackgroundWork | None = None,
    on_event: Any = None,
) -> tuple[FastAPI, FastAPIUsers[UserDB], InMemoryUserDatabase[UserDB], JWTAuthentication]:
    """The test application. Unlike the library's default (60 s), no mail throttle unless
    ``min_interval_seconds`` says so: the contract tests ask for several tokens in a row."""
    user_db = user_db if user_db is not None else InMemoryUserDatabase(UserDB)
    auth = JWTAuthentication(secret=SECRET, lifetime_seconds=3600, tokenUrl="auth/jwt/login")
    users = FastAPIUsers(
        user_db,
        [auth],
        User,
        UserCreate,
        UserUpdate,
        UserDB,
        validate_password=validate_password,
        password_helper=password_helper or PasswordHelper(CHEAPEST),
        background=background,
        on_event=on_event,
    )

    async def on_after_forgot_password(user: UserDB, token: str, request: Request) -> None:
        outbox.forgot.append((user, token, request))

    def on_after_reset_password(user: UserDB, request: Request) -> None:
        outbox.reset.append((user, request))

    app = FastAPI()
    app.include_router(
        users.get_reset_password_router(
            SECRET,
            3600,
            on_after_forgot_password,
            on_after_reset_password,
            token_strategy=strategy,
            min_interval_seconds=min_interval_seconds,
        ),
        prefix="/auth",
    )
    app.include_router(users.get_register_router(), prefix="/auth")
    app.include_router(users.get_auth_router(auth), prefix="/auth/jwt")

    # A default rather than Annotated: this module's annotations are strings, and `users`
    # is local, so FastAPI could not evaluate an Annotated[...] naming it.
    current_user = users.current_user()

    @app.get("/me")
    async def me(user: UserDB = Depends(current_user)) -> dict[str, str]:  # noqa: B008
        return {"email": user.email}

    return app, users, user_db, auth


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


REDIS_STORES = ["fakeredis", "redis", "redis-resp3", "redis-cluster"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server for the whole session."""
    server = RedisServer(temporary_directory())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """A real 3-node Redis Cluster for the whole session."""
    cluster = RedisCluster(temporary_directory())
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL for the session, in a temporary directory."""
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


class Base(DeclarativeBase):
    pass


class UserTable(SQLAlchemyBaseUserTable, Base):
    pass


async def sql_database(url: str) -> tuple[SQLAlchemyUserDatabase[UserDB], Any]:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    return SQLAlchemyUserDatabase(UserDB, async_sessionmaker(engine), UserTable), engine


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def user_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """Each user database adapter, empty: memory, SQLite and a real PostgreSQL."""
    if request.param == "memory":
        yield InMemoryUserDatabase(UserDB)
        return
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'users.db'}"
    else:
        url = request.getfixturevalue("postgres").url
    database, engine = await sql_database(url)
    yield database
    await engine.dispose()


def make_redis_client(store: str, request: pytest.FixtureRequest, **options: Any) -> Any:
    """An async client on the named store; servers start on first use."""
    if store == "fakeredis":
        return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), **options)
    if store == "redis-cluster":
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        return redis.asyncio.RedisCluster.from_url(cluster.url, **options)
    server: RedisServer = request.getfixturevalue("redis_server")
    protocol = 3 if store == "redis-resp3" else 2
    return redis.asyncio.Redis.from_url(server.url, protocol=protocol, **options)


@pytest.fixture(params=REDIS_STORES)
def redis_store(request: pytest.FixtureRequest) -> str:
    """Each Redis store: fakeredis, a real server over RESP2 and RESP3, a real cluster."""
    return str(request.param)


@pytest.fixture
async def redis_client(redis_store: str, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """A client on each Redis store."""
    client = make_redis_client(redis_store, request)
    yield client
    await client.aclose()


def unique_prefix() -> str:
    """Keys of one test apart from every other's, so no test needs to flush a server."""
    return f"test-{uuid.uuid4().hex[:12]}"


# Short codes on each kind of Redis: the contract suite runs them beside link tokens.
CODE_STORES = ["codes-fakeredis", "codes-redis", "codes-redis-cluster"]


@asynccontextmanager
async def strategy_of_kind(
    kind: str, request: pytest.FixtureRequest
) -> AsyncIterator[ResetTokenStrategy]:
    """A strategy of the named kind: jwt, a Redis store, or codes on a Redis store."""
    if kind == "jwt":
        yield JWTResetTokenStrategy()
        return
    store = kind.removeprefix("codes-")
    client = make_redis_client(store, request)
    prefix = unique_prefix()
    if kind.startswith("codes-"):
        yield RedisResetCodeStrategy(client, key_prefix=prefix)
    else:
        yield RedisResetTokenStrategy(client, key_prefix=prefix)
    await client.aclose()


@pytest.fixture(params=["jwt", *REDIS_STORES])
async def strategy(request: pytest.FixtureRequest) -> AsyncIterator[ResetTokenStrategy]:
    """Every link-token strategy and store."""
    async with strategy_of_kind(request.param, request) as made:
        yield made


@asynccontextmanager
async def open_harness(
    strategy: ResetTokenStrategy, user_db: Any = None, **options: Any
) -> AsyncIterator[Harness]:
    """The test application over ``strategy`` (and ``user_db``, ``validate_password`` or
    ``password_helper``, if given), with a client."""
    outbox = Outbox()
    app, users, db, auth = build_app(strategy, outbox, user_db=user_db, **options)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Harness(app, users, db, auth, strategy, outbox, client)
        await users.background.drain()


@pytest.fixture
async def harness(strategy: ResetTokenStrategy) -> AsyncIterator[Harness]:
    async with open_harness(strategy) as opened:
        yield opened


@pytest.fixture
def log_records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog
