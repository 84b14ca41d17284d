"""The Redis fault tools do what they say, against a real redis-server.

Tests of the token store trust these tools to inject a fault; if a tool quietly injected
none, those tests would pass for the wrong reason. So each tool is proved here on its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, OutOfMemoryError, ReadOnlyError, ResponseError

from tests.conftest import unique_prefix
from tests.redis_servers import RedisServer, temporary_directory
from tests.tcp_proxy import ReplyDroppingProxy

pytestmark = pytest.mark.anyio

# Scripts without flags, as the token store's are. INCR may grow memory, so it is refused
# when memory is exhausted; DEL may not, so a script that writes with it first is not.
INCR_SCRIPT = "return redis.call('INCR', KEYS[1])"
DEL_THEN_INCR_SCRIPT = "redis.call('DEL', KEYS[1]); return redis.call('INCR', KEYS[1])"


def start_server(replica_of: int | None = None) -> RedisServer:
    server = RedisServer(temporary_directory(), replica_of=replica_of)
    server.start()
    return server


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A server of the test's own, as the test changes its configuration."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def own_client(own_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """A client on the test's own server."""
    client = redis.asyncio.Redis.from_url(own_server.url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def proxy(redis_server: RedisServer) -> AsyncIterator[ReplyDroppingProxy]:
    """A proxy in front of the session's server."""
    async with ReplyDroppingProxy(redis_server.port) as opened:
        yield opened


@pytest.fixture
async def direct(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """A client on the session's server, past the proxy: it sees what really ran."""
    client = redis.asyncio.Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.mark.parametrize("times", [1, 2])
async def test_a_lost_reply_makes_the_default_retry_run_a_command_again(
    proxy: ReplyDroppingProxy, direct: redis.asyncio.Redis, times: int
) -> None:
    """An INCR whose reply is lost runs once more for each loss, and the client never knows."""
    key = unique_prefix()
    # The constructor's default retry: from_url would not retry (see the next test).
    client = redis.asyncio.Redis(host=proxy.host, port=proxy.port)
    try:
        proxy.drop_next_reply(b"INCR", times)
        assert await client.incr(key) == times + 1
    finally:
        await client.aclose()
    assert await direct.get(key) == str(times + 1).encode()
    # Only the INCR replies were lost, not those of the handshake before them.
    assert proxy.dropped == times


async def test_from_url_does_not_retry_so_a_lost_reply_fails_a_command_that_ran(
    proxy: ReplyDroppingProxy, direct: redis.asyncio.Redis
) -> None:
    """A from_url client has no retry by default: it raises, though its INCR ran."""
    key = unique_prefix()
    client = redis.asyncio.Redis.from_url(proxy.url)
    try:
        proxy.drop_next_reply(b"incr")
        with pytest.raises(ConnectionError):
            await client.incr(key)
    finally:
        await client.aclose()
    assert await direct.get(key) == b"1"


async def test_a_lost_evalsha_reply_makes_a_script_run_twice(
    proxy: ReplyDroppingProxy, direct: redis.asyncio.Redis
) -> None:
    """A registered script whose EVALSHA reply is lost runs twice."""
    key = unique_prefix()
    client = redis.asyncio.Redis(host=proxy.host, port=proxy.port)
    try:
        script = client.register_script(INCR_SCRIPT)
        # Loaded first: otherwise the lost reply would be NOSCRIPT, and nothing would have run.
        await client.script_load(INCR_SCRIPT)
        proxy.drop_next_reply(b"EVALSHA")
        assert await script(keys=[key]) == 2
    finally:
        await client.aclose()
    assert await direct.get(key) == b"2"
    assert proxy.dropped == 1


async def test_a_blackhole_exhausts_retries_until_restored(proxy: ReplyDroppingProxy) -> None:
    """While black-holed, a call raises ConnectionError; once restored, calls work again."""
    key = unique_prefix()
    client = redis.asyncio.Redis.from_url(
        proxy.url, retry=Retry(NoBackoff(), 1), socket_timeout=1, socket_connect_timeout=1
    )
    try:
        assert await client.set(key, "before")
        proxy.blackhole()
        with pytest.raises(ConnectionError):
            await client.get(key)
        # The first attempt and its one retry, each on a connection of its own.
        assert proxy.dropped >= 2
        proxy.restore()
        assert await client.get(key) == b"before"
    finally:
        await client.aclose()


async def assert_writes_refused(
    client: redis.asyncio.Redis, error: type[ResponseError], message_start: str
) -> None:
    """Both a write script and a plain write raise exactly ``error``; a read still works."""
    key = unique_prefix()
    script = client.register_script(INCR_SCRIPT)
    for write in (lambda: script(keys=[key]), lambda: client.set(key, "x")):
        with pytest.raises(ResponseError) as raised:
            await write()
        assert type(raised.value) is error
        assert str(raised.value).startswith(message_start)
    assert await client.get(key) is None


async def assert_writes_work(client: redis.asyncio.Redis) -> None:
    key = unique_prefix()
    assert await client.register_script(INCR_SCRIPT)(keys=[key]) == 1
    assert await client.set(key, "x")


async def test_a_demoted_server_refuses_writes_with_readonly(
    own_server: RedisServer, own_client: redis.asyncio.Redis
) -> None:
    """Demoted to a replica, as after a failover, a server raises ReadOnlyError on writes."""
    new_primary = start_server()
    try:
        await assert_writes_work(own_client)
        own_server.demote(new_primary.port)
        new_primary.wait_for_replicas(1)
        await assert_writes_refused(own_client, ReadOnlyError, "You can't write against")
        own_server.promote()
        await assert_writes_work(own_client)
    finally:
        own_server.promote()
        new_primary.stop()


async def test_too_few_replicas_refuse_writes_with_noreplicas(
    own_server: RedisServer, own_client: redis.asyncio.Redis
) -> None:
    """Requiring a replica it lacks, a server raises a plain ResponseError reading NOREPLICAS."""
    try:
        own_server.require_replicas(1)
        await assert_writes_refused(own_client, ResponseError, "NOREPLICAS")
        own_server.require_replicas(0)
        await assert_writes_work(own_client)
    finally:
        own_server.require_replicas(0)


async def test_exhausted_memory_refuses_writes_with_oom(
    own_server: RedisServer, own_client: redis.asyncio.Redis
) -> None:
    """Out of memory, a server raises OutOfMemoryError on writes that may grow memory."""
    try:
        own_server.exhaust_memory()
        await assert_writes_refused(own_client, OutOfMemoryError, "command not allowed")
        own_server.restore_memory()
        await assert_writes_work(own_client)
    finally:
        own_server.restore_memory()


async def test_exhausted_memory_lets_a_script_through_once_it_has_written(
    own_server: RedisServer, own_client: redis.asyncio.Redis
) -> None:
    """Out of memory, a script without flags whose first write is a DEL runs to its end."""
    key = unique_prefix()
    try:
        own_server.exhaust_memory()
        # Redis 7.0 checks memory at a script's first write only: it cannot stop one midway.
        assert await own_client.register_script(DEL_THEN_INCR_SCRIPT)(keys=[key]) == 1
    finally:
        own_server.restore_memory()


async def test_a_paused_replica_makes_wait_time_out(own_server: RedisServer) -> None:
    """WAIT counts no replica while the only one is paused, and counts it once resumed."""
    replica = start_server(replica_of=own_server.port)
    client = redis.asyncio.Redis.from_url(own_server.url)
    key = unique_prefix()
    try:
        own_server.wait_for_replicas(1)
        replica.pause()
        # WAIT counts replicas that acknowledged this client's last write: so write first.
        await client.set(key, "1")
        assert await client.wait(1, 200) == 0
        replica.resume()
        assert await client.wait(1, 5000) == 1
    finally:
        await client.aclose()
        replica.stop()


def test_a_paused_server_stops_without_hanging() -> None:
    """Stopping a paused server resumes it first, so that it can act on SIGTERM."""
    server = start_server()
    try:
        server.pause()
    finally:
        server.stop()
    assert server.process is None
