"""Fixtures of the fastapi-users tests: fresh databases and example applications on them.

Nothing here imports fastapi-users at module level: the main virtual environment has no
fastapi-users, and a conftest that failed to import there would break its whole run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.contrib.databases import DATABASE_KINDS, DatabaseKind, FreshDatabases

if TYPE_CHECKING:
    from tests.contrib.compat_runner import ComparedApp, OpenCompared, OpenPair
    from tests.contrib.driving import Driver, OpenDriver
    from tests.contrib.example_app import IdKind, RouterKind


@pytest.fixture(params=DATABASE_KINDS)
def database_kind(request: pytest.FixtureRequest) -> DatabaseKind:
    """Each database the example runs on: SQLite (aiosqlite) and a real PostgreSQL (asyncpg)."""
    kind: DatabaseKind = request.param
    return kind


@pytest.fixture(params=["uuid", "int"])
def id_kind(request: pytest.FixtureRequest) -> IdKind:
    """Each id type the fastapi-users documentation shows: UUID and integer."""
    kind: IdKind = request.param
    return kind


@pytest.fixture
async def fresh_databases(
    database_kind: DatabaseKind, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[FreshDatabases]:
    # PostgreSQL starts only when a test asks for it (the `postgres` fixture of
    # tests/conftest.py, which fails rather than skips when the server cannot start).
    server_url = request.getfixturevalue("postgres").url if database_kind == "postgresql" else None
    databases = FreshDatabases(database_kind, tmp_path, server_url)
    yield databases
    await databases.drop_all()


@pytest.fixture
async def open_driver(
    fresh_databases: FreshDatabases, id_kind: IdKind
) -> AsyncIterator[OpenDriver]:
    """Opens an example application with a client: ``await open_driver("stock" | "swapped",
    **build_example_app_options)``, on a fresh database unless ``database_url`` names one."""
    from tests.contrib.driving import Driver
    from tests.contrib.example_app import build_example_app

    async with AsyncExitStack() as stack:

        async def open_one(
            reset_router: RouterKind, *, database_url: str | None = None, **options: Any
        ) -> Driver:
            url = database_url if database_url is not None else await fresh_databases.new_url()
            example = build_example_app(url, id_kind=id_kind, reset_router=reset_router, **options)
            stack.push_async_callback(example.dispose)
            await example.create_tables()
            # An application's exception becomes the 500 a real client would get: an answer
            # to compare between the two routers, not an error raised into the test.
            transport = httpx.ASGITransport(app=example.app, raise_app_exceptions=False)
            client = httpx.AsyncClient(transport=transport, base_url="http://test")
            await stack.enter_async_context(client)
            return Driver(example, client)

        yield open_one


@pytest.fixture
def strategy_kind() -> str:
    """The swapped router's token strategy: "jwt" (the default) or "redis" (fakeredis).

    Tests parametrize it directly to run on both."""
    return "jwt"


@pytest.fixture
async def open_compared(open_driver: OpenDriver, strategy_kind: str) -> AsyncIterator[OpenCompared]:
    """Opens one application of a comparison, with alice and an inactive user:
    ``await open_compared("stock" | "swapped", policy=True)``. With ``policy``, the manager
    refuses passwords under 8 characters; the swapped router gets a strategy whose clock
    the test can turn back (JWT) or a fakeredis of its own (Redis)."""
    import fakeredis

    from fastapi_password_reset.tokens import JWTResetTokenStrategy, RedisResetTokenStrategy
    from tests.contrib.compat_runner import Clock, ComparedApp, length_policy, prepare

    redis_clients: list[Any] = []

    async def open_one(reset_router: RouterKind, *, policy: bool = True) -> ComparedApp:
        options: dict[str, Any] = {"validate_password": length_policy if policy else None}
        clock: Clock | None = None
        if reset_router == "swapped" and strategy_kind == "redis":
            client = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
            redis_clients.append(client)
            options["token_strategy"] = RedisResetTokenStrategy(client)
        elif reset_router == "swapped":
            clock = Clock()
            options["token_strategy"] = JWTResetTokenStrategy(clock=clock)
        app = ComparedApp(await open_driver(reset_router, **options), clock)
        await prepare(app)
        return app

    yield open_one
    for client in redis_clients:
        await client.aclose()


@pytest.fixture
def open_pair(open_compared: OpenCompared) -> OpenPair:
    """Opens a stock and a swapped application built alike (see ``open_compared``):
    ``stock, swapped = await open_pair(policy=True)``."""

    async def open_both(*, policy: bool = True) -> list[ComparedApp]:
        return [await open_compared(kind, policy=policy) for kind in ("stock", "swapped")]

    return open_both
