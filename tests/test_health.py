"""`RedisResetTokenStrategy.ping`, the health check, against real Redis servers that answer,
are stopped, never answer or want a password; and the readiness sample of docs/operations.md."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio

from fastapi_password_reset.tokens import RedisResetTokenStrategy, TokenStoreUnavailableError
from tests.conftest import SECRET
from tests.doc_programs import ROOT, run_in_order
from tests.redis_servers import RedisCluster, RedisServer

pytestmark = pytest.mark.anyio

OPERATIONS_PAGE = ROOT / "docs" / "operations.md"


@contextmanager
def never_answering_port() -> Iterator[int]:
    """A loopback port whose listener never accepts, its queue full: connecting hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    queued: list[socket.socket] = []
    try:
        for _ in range(4):  # more than the queue holds; later handshakes get no answer
            waiting = socket.socket()
            waiting.setblocking(False)
            queued.append(waiting)
            with suppress(BlockingIOError):
                waiting.connect(("127.0.0.1", port))
        time.sleep(0.1)
        yield port
    finally:
        for waiting in queued:
            waiting.close()
        listener.close()


async def test_ping_returns_the_round_trip_without_a_secret(redis_client: Any) -> None:
    """Every store answers; the round trip is a small positive number; no bind is needed."""
    strategy = RedisResetTokenStrategy(redis_client)
    seconds = await strategy.ping()
    assert 0 < seconds < 5


async def test_a_stopped_server_raises_and_a_restarted_one_answers(tmp_path: Path) -> None:
    """A server of the test's own: answering, stopped (unavailable at once), started again."""
    server = RedisServer(tmp_path)
    server.start()
    client = redis.asyncio.Redis.from_url(server.url)
    strategy = RedisResetTokenStrategy(client)
    try:
        await strategy.ping()
        server.stop()
        started = time.perf_counter()
        with pytest.raises(TokenStoreUnavailableError, match="ConnectionError"):
            await strategy.ping()
        assert time.perf_counter() - started < 1  # from_url retries nothing: refused at once
        server.start()
        assert await strategy.ping() > 0
    finally:
        await client.aclose()
        server.stop()


async def test_a_server_that_never_answers_raises_after_the_connect_timeout() -> None:
    """No answer to the handshake: unavailable once socket_connect_timeout has passed."""
    with never_answering_port() as port:
        client = redis.asyncio.Redis.from_url(
            f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5
        )
        strategy = RedisResetTokenStrategy(client)
        started = time.perf_counter()
        with pytest.raises(TokenStoreUnavailableError, match="Timeout"):
            await strategy.ping()
        assert 0.45 < time.perf_counter() - started < 3
        await client.aclose()


async def test_a_server_refusing_the_password_raises(tmp_path: Path) -> None:
    """A server that wants a password the client lacks, or does not have: unavailable."""
    server = RedisServer(tmp_path)
    server.start()
    server.cli("CONFIG", "SET", "requirepass", "the-right-password")
    try:
        for password in (None, "a-wrong-password"):
            client = redis.asyncio.Redis.from_url(server.url, password=password)
            with pytest.raises(TokenStoreUnavailableError, match="AuthenticationError"):
                await RedisResetTokenStrategy(client).ping()
            await client.aclose()
        client = redis.asyncio.Redis.from_url(server.url, password="the-right-password")
        assert await RedisResetTokenStrategy(client).ping() > 0
        await client.aclose()
    finally:
        server.stop()


async def test_ping_reaches_every_primary_of_a_cluster(redis_cluster: RedisCluster) -> None:
    """On the shared cluster, each of the three primaries receives a PING."""
    client = redis.asyncio.RedisCluster.from_url(redis_cluster.url)
    try:
        primaries = [
            node for node in redis_cluster.nodes if node.cli("ROLE").split()[0] == "master"
        ]
        before = [ping_calls(node) for node in primaries]
        await RedisResetTokenStrategy(client).ping()
        after = [ping_calls(node) for node in primaries]
        assert len(primaries) == 3
        assert all(a > b for a, b in zip(after, before, strict=True))
    finally:
        await client.aclose()


def ping_calls(node: RedisServer) -> int:
    """How many PINGs the node has answered (INFO commandstats)."""
    stats = node.cli("INFO", "commandstats")
    match = re.search(r"cmdstat_ping:calls=(\d+)", stats)
    return int(match[1]) if match else 0


async def test_a_cluster_with_a_stopped_primary_is_unavailable(tmp_path: Path) -> None:
    """A cluster of the test's own: one primary down makes ping raise; back up, it answers."""
    cluster = RedisCluster(tmp_path)
    cluster.start()
    client = redis.asyncio.RedisCluster.from_url(cluster.url)
    strategy = RedisResetTokenStrategy(client)
    try:
        await strategy.ping()
        cluster.nodes[2].stop()
        with pytest.raises(TokenStoreUnavailableError, match="ConnectionError"):
            await strategy.ping()
        cluster.nodes[2].start()
        await answers_within(strategy, 20)
    finally:
        await client.aclose()
        cluster.stop()


async def answers_within(strategy: RedisResetTokenStrategy, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            await strategy.ping()
            return
        except TokenStoreUnavailableError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


# The sample of docs/operations.md, run as the page shows it and then used.


def operations_sample(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> dict[str, Any]:
    """The page's Python blocks, run in order with REDIS_URL set: the app and its client."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("SECRET", SECRET)
    return run_in_order(OPERATIONS_PAGE)


async def get_ready(app: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        return await client.get("/ready")


async def test_the_documented_app_starts_and_is_ready_with_redis(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> None:
    """With Redis up, the lifespan check passes and /ready answers 200."""
    sample = operations_sample(monkeypatch, redis_server.url)
    app = sample["app"]
    async with app.router.lifespan_context(app):
        response = await get_ready(app)
    assert (response.status_code, response.json()) == (200, {"redis": "ok"})


async def test_the_documented_app_refuses_to_start_and_is_not_ready_without_redis(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With Redis stopped, the lifespan raises and /ready answers 503."""
    stopped = RedisServer(tmp_path)  # never started: nothing listens on its port
    sample = operations_sample(monkeypatch, stopped.url)
    app = sample["app"]
    with pytest.raises(TokenStoreUnavailableError):
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover - the check above fails first
    response = await get_ready(app)
    assert (response.status_code, response.json()) == (503, {"redis": "unavailable"})
    await sample["redis_client"].aclose()


async def test_the_documented_route_answers_503_in_time_when_redis_never_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Redis that never answers: /ready still answers, 503, within its 1 s bound."""
    with never_answering_port() as port:
        sample = operations_sample(monkeypatch, f"redis://127.0.0.1:{port}/0")
        started = time.perf_counter()
        response = await get_ready(sample["app"])
        assert time.perf_counter() - started < 2
        await sample["redis_client"].aclose()
    assert response.status_code == 503
