"""A Redis server that goes away: 503 on reset, 202 on forgot, and recovery after restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from fastapi_password_reset.tokens import RedisResetTokenStrategy
from tests.conftest import NEW_PASSWORD, PASSWORD, Outbox, UserDB, build_app, unique_prefix
from tests.redis_servers import RedisCluster, RedisServer, temporary_directory

pytestmark = pytest.mark.anyio

STORE_DOWN = {"detail": "RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE"}


@dataclass
class Setup:
    client: httpx.AsyncClient
    app_users: Any
    user_db: Any
    outbox: Outbox

    async def post(self, path: str, body: dict[str, str]) -> httpx.Response:
        response = await self.client.post(path, json=body)
        await self.app_users.background.drain()
        return response

    async def password_is(self, email: str, password: str) -> bool:
        user = await self.user_db.get_by_email(email)
        ok, _ = await self.app_users.password_helper.verify_and_update(
            password, user.hashed_password
        )
        return bool(ok)


@pytest.fixture
def persistent_server() -> Iterator[RedisServer]:
    """A server of this test's own, with an append-only file so that tokens survive a restart."""
    server = RedisServer(temporary_directory(), persistent=True)
    server.start()
    yield server
    server.stop()


async def make_setup(redis_client: Any) -> AsyncIterator[Setup]:
    outbox = Outbox()
    strategy = RedisResetTokenStrategy(redis_client, key_prefix=unique_prefix())
    app, users, user_db, _ = build_app(strategy, outbox)
    hashed = await users.password_helper.hash(PASSWORD)
    await user_db.create(UserDB(email="alice@example.com", hashed_password=hashed))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield Setup(client, users, user_db, outbox)
    await redis_client.aclose()


async def test_a_stopped_server_gives_503_then_recovers(
    persistent_server: RedisServer, log_records: pytest.LogCaptureFixture
) -> None:
    """Reset: 503, password unchanged. Forgot: 202, error logged. After restart the token works."""
    # One quick retry: the application chooses how long its client keeps trying.
    client = redis.asyncio.Redis.from_url(persistent_server.url, retry=Retry(NoBackoff(), 1))
    async for setup in make_setup(client):
        await setup.post("/auth/forgot-password", {"email": "alice@example.com"})
        token = setup.outbox.token_for("alice@example.com")

        persistent_server.stop()
        reset = await setup.post("/auth/reset-password", {"token": token, "password": NEW_PASSWORD})
        assert (reset.status_code, reset.json()) == (503, STORE_DOWN)
        assert await setup.password_is("alice@example.com", PASSWORD)
        forgot = await setup.post("/auth/forgot-password", {"email": "alice@example.com"})
        assert (forgot.status_code, forgot.content) == (202, b"null")
        assert len(setup.outbox.forgot) == 1
        assert any("token store unavailable" in r.getMessage() for r in log_records.records)

        persistent_server.start()
        reset = await setup.post("/auth/reset-password", {"token": token, "password": NEW_PASSWORD})
        assert (reset.status_code, reset.json()) == (200, None)
        assert await setup.password_is("alice@example.com", NEW_PASSWORD)


async def test_a_killed_cluster_gives_503_and_never_500() -> None:
    """Every node of a Redis Cluster gone: reset answers 503 and changes nothing."""
    cluster = RedisCluster(temporary_directory())
    cluster.start()
    try:
        client = redis.asyncio.RedisCluster.from_url(cluster.url, retry=Retry(NoBackoff(), 1))
        async for setup in make_setup(client):
            await setup.post("/auth/forgot-password", {"email": "alice@example.com"})
            token = setup.outbox.token_for("alice@example.com")
            for node in cluster.nodes:
                node.kill()
            reset = await setup.post(
                "/auth/reset-password", {"token": token, "password": NEW_PASSWORD}
            )
            assert (reset.status_code, reset.json()) == (503, STORE_DOWN)
            assert await setup.password_is("alice@example.com", PASSWORD)
            forgot = await setup.post("/auth/forgot-password", {"email": "alice@example.com"})
            assert forgot.status_code == 202
    finally:
        cluster.stop()
