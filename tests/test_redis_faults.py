"""Redis faults through the routes: a server gone, a reply lost, writes refused, replicas late."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from fastapi_password_reset.tokens import RedisResetTokenStrategy
from fastapi_password_reset.tokens import redis as redis_tokens
from fastapi_password_reset.tokens._redis_scripts import (
    CONSUME_TOKEN,
    ISSUE_TOKEN,
    RELEASE_TOKEN,
    REVOKE_TOKEN,
    REVOKE_USER_TOKENS,
)
from fastapi_password_reset.tokens.base import (
    RevocationNotReplicatedError,
    TokenStoreUnavailableError,
)
from tests.conftest import (
    NEW_PASSWORD,
    PASSWORD,
    SECRET,
    Harness,
    Outbox,
    UserDB,
    build_app,
    open_harness,
    unique_prefix,
)
from tests.redis_servers import RedisCluster, RedisServer, temporary_directory
from tests.servers import free_port, wait_until
from tests.tcp_proxy import ReplyDroppingProxy

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


# Faults a stopped server cannot show: a reply lost after Redis ran the command, and a
# server that answers but refuses writes. Each test runs its own redis-server, reached
# through a proxy that loses replies on demand (tests/tcp_proxy.py) where it needs one.

EMAIL = "alice@example.com"
OTHER_PASSWORD = "yet another passphrase 7"
BAD_TOKEN = {"detail": "RESET_PASSWORD_BAD_TOKEN"}
# What a reset token looks like (tag.random): any such string in a log is a leak, including
# a token that was withdrawn before any hook saw it.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}")


def script_sha(script: str) -> bytes:
    """The SHA1 an EVALSHA of ``script`` carries: it tells one script's request from another's."""
    return hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest().encode()


ISSUE_SHA = script_sha(ISSUE_TOKEN)
CONSUME_SHA = script_sha(CONSUME_TOKEN)


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A redis-server of the test's own, as the test loses its replies or refuses its writes."""
    server = RedisServer(temporary_directory())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def direct(own_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """A client past any proxy, to see what really ran; it loads the library's scripts first.

    Loaded scripts make a lost EVALSHA reply the reply of a real run, not of a NOSCRIPT.
    """
    client = redis.asyncio.Redis.from_url(own_server.url)
    try:
        for script in (ISSUE_TOKEN, CONSUME_TOKEN, RELEASE_TOKEN, REVOKE_USER_TOKENS, REVOKE_TOKEN):
            await client.script_load(script)
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def proxy(own_server: RedisServer) -> AsyncIterator[ReplyDroppingProxy]:
    """A proxy in front of the test's own server."""
    async with ReplyDroppingProxy(own_server.port) as opened:
        yield opened


@pytest.fixture
def replica(own_server: RedisServer) -> Iterator[RedisServer]:
    """A replica of the test's own server, synced before the test starts."""
    server = RedisServer(temporary_directory(), replica_of=own_server.port)
    server.start()
    try:
        own_server.wait_for_replicas(1)
        # "online" is not yet "acknowledging": a replica fresh from its first sync may not
        # answer a WAIT until its next once-a-second ACK. Wait for that first one here.
        with redis.Redis.from_url(own_server.url) as client:
            client.set(unique_prefix(), "synced")
            assert client.wait(1, 5000) == 1
        yield server
    finally:
        server.stop()  # Resumes it first if the test left it paused.


def retrying_client(proxy: ReplyDroppingProxy) -> redis.asyncio.Redis:
    """The constructor's default client: it retries a command whose reply was lost."""
    return redis.asyncio.Redis(host=proxy.host, port=proxy.port)


def single_try_client(proxy: ReplyDroppingProxy) -> redis.asyncio.Redis:
    """A from_url client: no retry, so a lost reply raises though the command ran."""
    return redis.asyncio.Redis.from_url(proxy.url)


@asynccontextmanager
async def app_on(
    client: redis.asyncio.Redis, *, min_interval_seconds: float = 0, **options: Any
) -> AsyncIterator[Harness]:
    """The test application over a Redis strategy on ``client`` (given ``options``), closed
    after the block."""
    strategy = RedisResetTokenStrategy(client, key_prefix=unique_prefix(), **options)
    try:
        async with open_harness(strategy, min_interval_seconds=min_interval_seconds) as harness:
            yield harness
    finally:
        await client.aclose()


def strategy_of(harness: Harness) -> RedisResetTokenStrategy:
    strategy = harness.strategy
    assert isinstance(strategy, RedisResetTokenStrategy)
    return strategy


async def token_fields(
    direct: redis.asyncio.Redis, harness: Harness, token: str
) -> set[bytes | str]:
    """The fields of a token's hash: ``v`` alone, or ``v``, ``a`` and ``l`` while claimed."""
    keys = strategy_of(harness).keys
    parsed = keys.parse(token)
    assert parsed is not None
    return set(await direct.hkeys(keys.live(*parsed)))


async def stored(direct: redis.asyncio.Redis, harness: Harness) -> dict[bytes | str, Any]:
    """Every key the application's strategy holds, with its contents."""
    contents: dict[bytes | str, Any] = {}
    for key in await direct.keys(f"{strategy_of(harness).key_prefix}:*"):
        kind = await direct.type(key)
        if kind == b"hash":
            contents[key] = await direct.hgetall(key)
        elif kind == b"zset":
            contents[key] = await direct.zrange(key, 0, -1, withscores=True)
        else:
            contents[key] = await direct.get(key)
    return contents


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def assert_no_secrets_logged(caplog: pytest.LogCaptureFixture, harness: Harness) -> None:
    """No log record holds a token, withdrawn ones included, a password or a password hash."""
    tokens = [token for _, token, _ in harness.outbox.forgot]
    secrets = [*tokens, PASSWORD, NEW_PASSWORD, OTHER_PASSWORD, "$argon2"]
    # caplog.text has the formatted tracebacks too.
    for text in [caplog.text, *messages(caplog)]:
        assert TOKEN_SHAPE.search(text) is None
        for secret in secrets:
            assert secret not in text


async def test_a_lost_consume_reply_is_retried_into_exactly_one_success(
    proxy: ReplyDroppingProxy, direct: redis.asyncio.Redis, log_records: pytest.LogCaptureFixture
) -> None:
    """A consume that ran but lost its reply is retried by redis-py and gives its reset a 200."""
    async with app_on(retrying_client(proxy)) as harness:
        await harness.add_user()
        token = await harness.token_for()
        # The consume's reply, not the read before it nor the revocation after the write.
        proxy.drop_next_reply(CONSUME_SHA)
        reset = await harness.reset(token)
        assert (reset.status_code, reset.json()) == (200, None)
        assert proxy.dropped == 1
        assert len(harness.outbox.reset) == 1
        assert await harness.password_works(EMAIL, NEW_PASSWORD)

        again = await harness.reset(token, OTHER_PASSWORD)
        assert (again.status_code, again.json()) == (400, BAD_TOKEN)
        assert await harness.password_works(EMAIL, NEW_PASSWORD)
        assert len(harness.outbox.reset) == 1
        assert_no_secrets_logged(log_records, harness)


async def test_a_lost_consume_reply_without_retry_gives_503_and_frees_the_token_at_once(
    proxy: ReplyDroppingProxy, direct: redis.asyncio.Redis, log_records: pytest.LogCaptureFixture
) -> None:
    """Without retries, a consume that lost its reply answers 503 and gives the token back."""
    async with app_on(single_try_client(proxy)) as harness:
        await harness.add_user()
        token = await harness.token_for()
        proxy.drop_next_reply(CONSUME_SHA)
        reset = await harness.reset(token)
        assert (reset.status_code, reset.json()) == (503, STORE_DOWN)
        assert proxy.dropped == 1
        assert await harness.password_works(EMAIL, PASSWORD)
        assert harness.outbox.reset == []
        # The consume had claimed the token; the release after the error dropped the claim.
        assert await token_fields(direct, harness, token) == {b"v"}

        reset = await harness.reset(token)
        assert (reset.status_code, reset.json()) == (200, None)
        assert await harness.password_works(EMAIL, NEW_PASSWORD)
        assert len(harness.outbox.reset) == 1
        assert_no_secrets_logged(log_records, harness)


class LosingEveryReplyAfterTheFirst(ReplyDroppingProxy):
    """Black-holes the moment it loses a reply, until restored.

    The client's next connection then loses the reply to its handshake, so the next command
    never reaches Redis: the library's release of a claim cannot run.
    """

    @property
    def dropped(self) -> int:
        return self._lost

    @dropped.setter
    def dropped(self, count: int) -> None:
        self._lost = count
        if count:
            self.blackhole()


async def test_a_claim_that_cannot_be_released_ends_with_its_lease(
    own_server: RedisServer,
    direct: redis.asyncio.Redis,
    monkeypatch: pytest.MonkeyPatch,
    log_records: pytest.LogCaptureFixture,
) -> None:
    """A claim whose reply and release are both lost parks the token until its lease ends."""
    lease = 0.5
    monkeypatch.setattr(redis_tokens, "CLAIM_LEASE_SECONDS", lease)
    async with (
        LosingEveryReplyAfterTheFirst(own_server.port) as proxy,
        app_on(single_try_client(proxy)) as harness,
    ):
        await harness.add_user()
        token = await harness.token_for()
        proxy.drop_next_reply(CONSUME_SHA)
        try:
            reset = await harness.reset(token)
        finally:
            proxy.restore()
        assert (reset.status_code, reset.json()) == (503, STORE_DOWN)
        # The consume's reply, then at least the handshake of the release's connection.
        assert proxy.dropped >= 2
        assert await harness.password_works(EMAIL, PASSWORD)
        assert await token_fields(direct, harness, token) == {b"v", b"a", b"l"}
        assert "could not release a claimed token" in " ".join(messages(log_records))

        parked = await harness.reset(token)
        assert (parked.status_code, parked.json()) == (400, BAD_TOKEN)
        await asyncio.sleep(lease + 0.1)
        reset = await harness.reset(token)
        assert (reset.status_code, reset.json()) == (200, None)
        assert await harness.password_works(EMAIL, NEW_PASSWORD)
        assert len(harness.outbox.reset) == 1
        assert_no_secrets_logged(log_records, harness)


async def test_a_lost_issue_reply_under_a_throttle_is_retried_into_one_working_mail(
    proxy: ReplyDroppingProxy, direct: redis.asyncio.Redis, log_records: pytest.LogCaptureFixture
) -> None:
    """An issue that ran but lost its reply, retried under a throttle, still sends one link."""
    async with app_on(retrying_client(proxy), min_interval_seconds=60) as harness:
        await harness.add_user()
        proxy.drop_next_reply(ISSUE_SHA)
        forgot = await harness.forgot(EMAIL)
        assert (forgot.status_code, forgot.content) == (202, b"null")
        assert proxy.dropped == 1
        assert len(harness.outbox.forgot) == 1

        reset = await harness.reset(harness.outbox.token_for(EMAIL))
        assert (reset.status_code, reset.json()) == (200, None)
        assert await harness.password_works(EMAIL, NEW_PASSWORD)
        assert_no_secrets_logged(log_records, harness)


async def test_a_lost_issue_reply_without_retry_leaves_the_user_unthrottled(
    proxy: ReplyDroppingProxy, direct: redis.asyncio.Redis, log_records: pytest.LogCaptureFixture
) -> None:
    """Without retries, an issue that lost its reply sends no mail and leaves no throttle."""
    async with app_on(single_try_client(proxy), min_interval_seconds=60) as harness:
        user = await harness.add_user()
        proxy.drop_next_reply(ISSUE_SHA)
        forgot = await harness.forgot(EMAIL)
        assert (forgot.status_code, forgot.content) == (202, b"null")
        assert proxy.dropped == 1
        assert harness.outbox.forgot == []
        # The issue had stored a token and set the throttle; both were withdrawn.
        assert await stored(direct, harness) == {}
        assert f"no token for user {user.id} (ConnectionError:" in " ".join(messages(log_records))

        forgot = await harness.forgot(EMAIL)
        assert (forgot.status_code, forgot.content) == (202, b"null")
        assert len(harness.outbox.forgot) == 1
        reset = await harness.reset(harness.outbox.token_for(EMAIL))
        assert (reset.status_code, reset.json()) == (200, None)
        assert_no_secrets_logged(log_records, harness)


# A withdraw (of an issue) or a release (of a claim) undoes a command whose reply was lost
# after it was sent. A command that never reached Redis left nothing to undo: trying anyway
# against a Redis that is down only logged that the undo failed too.

WITHDRAW_FAILED = "could not withdraw a token whose issue failed"
RELEASE_FAILED = "could not release a claimed token"


@pytest.mark.parametrize("retries", [0, 3])
async def test_forgot_password_with_nobody_listening_has_nothing_to_withdraw(
    retries: int, log_records: pytest.LogCaptureFixture
) -> None:
    """A refused connection, retried or not: 202, the store's failure logged, no failed withdraw."""
    client = redis.asyncio.Redis(
        host="127.0.0.1", port=free_port(), retry=Retry(NoBackoff(), retries)
    )
    async with app_on(client, min_interval_seconds=60) as harness:
        user = await harness.add_user()
        forgot = await harness.forgot(EMAIL)
        assert (forgot.status_code, forgot.content) == (202, b"null")
        assert harness.outbox.forgot == []
        logged = " ".join(messages(log_records))
        assert f"no token for user {user.id} (ConnectionError:" in logged
        assert WITHDRAW_FAILED not in logged


async def stop_and_notice(server: RedisServer, client: redis.asyncio.Redis) -> None:
    """Stop ``server``, and let ``client`` find its pooled connection closed.

    redis-py 8 finds that out when it takes the connection from its pool; redis-py 5 only by
    writing a command to it, which then looks exactly like a command whose reply was lost.
    A ping pays for that here, so that what follows meets a refused connection.
    """
    server.stop()
    await asyncio.sleep(0.2)
    with contextlib.suppress(redis.exceptions.ConnectionError):
        await client.ping()


async def test_a_stopped_server_has_nothing_to_withdraw_or_release(
    own_server: RedisServer, log_records: pytest.LogCaptureFixture
) -> None:
    """Redis stopped a while ago: forgot answers 202 and reset 503, with no failed undo logged."""
    client = redis.asyncio.Redis.from_url(own_server.url)
    async with app_on(client) as harness:
        await harness.add_user()
        token = await harness.token_for()
        await stop_and_notice(own_server, client)
        forgot = await harness.forgot(EMAIL)
        assert (forgot.status_code, forgot.content) == (202, b"null")
        reset = await harness.reset(token)
        assert (reset.status_code, reset.json()) == (503, STORE_DOWN)
        assert len(harness.outbox.forgot) == 1
        logged = " ".join(messages(log_records))
        assert "token store unavailable" in logged
        assert WITHDRAW_FAILED not in logged and RELEASE_FAILED not in logged


async def test_a_server_gone_between_read_and_consume_has_no_claim_to_release(
    own_server: RedisServer, log_records: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token was read, then Redis stopped before the consume: 503, no failed release."""
    client = redis.asyncio.Redis.from_url(own_server.url)
    async with app_on(client) as harness:
        await harness.add_user()
        token = await harness.token_for()
        strategy = strategy_of(harness)
        consume = strategy.consume_token

        async def stop_then_consume(ticket: Any) -> bool:
            await stop_and_notice(own_server, client)
            return await consume(ticket)

        monkeypatch.setattr(strategy, "consume_token", stop_then_consume)
        reset = await harness.reset(token)
        assert (reset.status_code, reset.json()) == (503, STORE_DOWN)
        assert RELEASE_FAILED not in " ".join(messages(log_records))


async def test_an_issue_whose_reply_was_lost_is_still_withdrawn_or_said_to_be_stuck(
    own_server: RedisServer, direct: redis.asyncio.Redis, log_records: pytest.LogCaptureFixture
) -> None:
    """The issue ran and its reply was lost: the withdraw is tried, and when Redis cannot be
    reached for it either, the warning says the user may stay throttled."""
    async with (
        LosingEveryReplyAfterTheFirst(own_server.port) as proxy,
        app_on(single_try_client(proxy), min_interval_seconds=60) as harness,
    ):
        await harness.add_user()
        proxy.drop_next_reply(ISSUE_SHA)
        try:
            forgot = await harness.forgot(EMAIL)
        finally:
            proxy.restore()
        assert (forgot.status_code, forgot.content) == (202, b"null")
        assert harness.outbox.forgot == []
        assert await stored(direct, harness) != {}  # the issue ran: its token and throttle
        assert WITHDRAW_FAILED in " ".join(messages(log_records))
        assert_no_secrets_logged(log_records, harness)


@contextmanager
def failed_over(server: RedisServer) -> Iterator[None]:
    """``server`` fails over to a replica and follows it: it answers READONLY to writes.

    As in a real failover, the replica had every write, and ``server`` re-syncs from it, so
    the data is kept. The block's end fails back: ``server`` is promoted with that data.
    """
    replica = RedisServer(temporary_directory(), replica_of=server.port)
    replica.start()
    try:
        server.wait_for_replicas(1)
        wait_until(
            lambda: replica.cli("DBSIZE") == server.cli("DBSIZE"), 10, "the replica's first sync"
        )
        replica.promote()
        server.demote(replica.port)
        replica.wait_for_replicas(1)
        yield
    finally:
        server.promote()
        replica.stop()


@contextmanager
def too_few_replicas(server: RedisServer) -> Iterator[None]:
    """``server`` requires a replica it lacks: it answers NOREPLICAS to writes."""
    server.require_replicas(1)
    try:
        yield
    finally:
        server.require_replicas(0)


@contextmanager
def out_of_memory(server: RedisServer) -> Iterator[None]:
    """``server`` is full and evicts nothing: it answers OOM to writes that grow memory."""
    server.exhaust_memory()
    try:
        yield
    finally:
        server.restore_memory()


WRITE_REFUSALS = {
    "READONLY": (failed_over, "ReadOnlyError"),
    "NOREPLICAS": (too_few_replicas, "ResponseError"),
    "OOM": (out_of_memory, "OutOfMemoryError"),
}


@pytest.mark.parametrize("refusal", list(WRITE_REFUSALS))
async def test_a_server_refusing_writes_gives_503_changes_nothing_and_then_recovers(
    own_server: RedisServer,
    direct: redis.asyncio.Redis,
    refusal: str,
    log_records: pytest.LogCaptureFixture,
) -> None:
    """A server that refuses writes changes nothing; once it accepts them, the token works.

    READONLY is what a client still connected to a demoted primary gets after a failover:
    the replica promoted in its place had the token, and so does the old primary once it
    re-synced from it, so failing back (or following the failover) keeps the token usable.
    """
    refusing_writes, error = WRITE_REFUSALS[refusal]
    async with app_on(redis.asyncio.Redis.from_url(own_server.url)) as harness:
        user = await harness.add_user()
        token = await harness.token_for()
        before = await stored(direct, harness)
        assert len(before) == 2  # The token and the user's index.

        with refusing_writes(own_server):
            reset = await harness.reset(token)
            assert (reset.status_code, reset.json()) == (503, STORE_DOWN)
            assert await harness.password_works(EMAIL, PASSWORD)
            forgot = await harness.forgot(EMAIL)
            assert (forgot.status_code, forgot.content) == (202, b"null")
            assert len(harness.outbox.forgot) == 1
            assert f"no token for user {user.id} ({error}:" in " ".join(messages(log_records))
            assert await stored(direct, harness) == before

        reset = await harness.reset(token)
        assert (reset.status_code, reset.json()) == (200, None)
        assert await harness.password_works(EMAIL, NEW_PASSWORD)
        assert len(harness.outbox.reset) == 1
        assert_no_secrets_logged(log_records, harness)


async def test_a_revocation_reports_a_replica_that_did_not_acknowledge_it(
    own_server: RedisServer,
    replica: RedisServer,
    direct: redis.asyncio.Redis,
    log_records: pytest.LogCaptureFixture,
) -> None:
    """With wait_for_replicas, a revocation counts, and a paused replica makes it raise."""
    client = redis.asyncio.Redis.from_url(own_server.url)
    async with app_on(client, wait_for_replicas=1, wait_timeout_seconds=0.3) as harness:
        user = await harness.add_user()
        strategy = strategy_of(harness)
        await harness.token_for()
        assert await strategy.revoke_user_tokens(user.id) == 1

        replica.pause()
        tokens = [await harness.token_for(), await harness.token_for()]
        with pytest.raises(RevocationNotReplicatedError) as raised:
            await strategy.revoke_user_tokens(user.id)
        assert isinstance(raised.value, TokenStoreUnavailableError)
        assert raised.value.revoked == 2
        # Applied on the primary all the same: only the replicas' copies may lag.
        assert await stored(direct, harness) == {}
        for token in tokens:
            reset = await harness.reset(token)
            assert (reset.status_code, reset.json()) == (400, BAD_TOKEN)
        assert await harness.password_works(EMAIL, PASSWORD)
        assert_no_secrets_logged(log_records, harness)


async def test_a_reset_succeeds_though_its_revocation_is_not_replicated(
    own_server: RedisServer,
    replica: RedisServer,
    direct: redis.asyncio.Redis,
    log_records: pytest.LogCaptureFixture,
) -> None:
    """A reset with a paused replica answers 200; the unreplicated revocation is only logged."""
    client = redis.asyncio.Redis.from_url(own_server.url)
    async with app_on(client, wait_for_replicas=1, wait_timeout_seconds=0.3) as harness:
        user = await harness.add_user()
        other = await harness.token_for()
        token = await harness.token_for()
        replica.pause()
        reset = await harness.reset(token)
        assert (reset.status_code, reset.json()) == (200, None)
        assert await harness.password_works(EMAIL, NEW_PASSWORD)
        assert len(harness.outbox.reset) == 1
        assert f"could not revoke other tokens of user {user.id}" in log_records.text
        assert "RevocationNotReplicatedError" in log_records.text
        assert await stored(direct, harness) == {}
        reset = await harness.reset(other, OTHER_PASSWORD)
        assert (reset.status_code, reset.json()) == (400, BAD_TOKEN)
        assert_no_secrets_logged(log_records, harness)


async def test_a_cluster_revocation_waits_for_the_replica_of_its_own_slot() -> None:
    """Redis Cluster with replicas: WAIT runs on the revocation's own connection, even with a
    warm pool, so a paused replica is reported, and a live one confirms."""
    cluster = RedisCluster(temporary_directory(), replicas=1)
    cluster.start()
    client = redis.asyncio.RedisCluster.from_url(cluster.url)
    try:
        strategy = RedisResetTokenStrategy(
            # A replica fresh from its first sync acknowledges once a second: allow for that.
            client,
            key_prefix=unique_prefix(),
            wait_for_replicas=1,
            wait_timeout_seconds=2,
        )
        strategy.bind(SECRET, 600)
        user = UserDB(email="alice@example.com", hashed_password="$argon2id$stub")
        index = strategy.keys.index(strategy.keys.tag(user.id))
        await client.initialize()
        node = client.get_node_from_key(index)
        assert node is not None
        replica = cluster.replica_of(int(node.port))
        # Two pooled connections on that node: WAIT on the other one would see no write.
        await asyncio.gather(client.hmget(index, ["x"]), client.hmget(index, ["x"]))
        await strategy.issue_token(user)
        assert await strategy.revoke_user_tokens(user.id) == 1
        await strategy.issue_token(user)
        # Let the replica acknowledge the issue (it does once a second): a WAIT on the pool's
        # connection that issued would then succeed at once, though the revocation never came.
        await asyncio.sleep(1.5)
        replica.pause()
        try:
            with pytest.raises(RevocationNotReplicatedError) as unconfirmed:
                await strategy.revoke_user_tokens(user.id)
            assert unconfirmed.value.revoked == 1
        finally:
            replica.resume()
    finally:
        await client.aclose()
        cluster.stop()
