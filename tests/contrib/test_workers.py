"""What the fastapi-users adapter promises across worker processes, on real servers.

``uvicorn tests.contrib.worker_app:app --workers 4`` serves the fastapi-users example with the
reset router swapped, on a real PostgreSQL (and a real Redis in Redis mode). The requests of
each race are sent together on connections of their own, opened beforehand, so that they
spread over the workers; each test also checks that they did, or it would prove nothing.

- One token raced by many resets: exactly one succeeds, and its password is the one that
  logs in (JWT mode: the compare-and-set UPDATE of the hash; Redis mode: the atomic consume
  too). DESIGN section 7.
- Concurrent forgot-password requests for one address: one mail with the Redis strategy (its
  per-user throttle is shared by every worker); one per worker process with JWTs, whose
  throttle is documented as kept in each process. DESIGN section 8.
- The server really runs several processes, each answering.

Every test runs on each id type (UUID, integer) and token strategy (JWT, Redis), one server
for all the tests of a combination.
"""

from __future__ import annotations

import json
import os
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.conftest import unique_prefix
from tests.contrib.databases import FreshDatabases
from tests.contrib.worker_app import EVENT, HOOK, POLICY, database_of
from tests.postgres_server import PostgresServer
from tests.redis_servers import RedisServer
from tests.uvicorn_workers import PID_HEADER, eventually
from tests.uvicorn_workers import uvicorn_workers as start_workers

pytestmark = pytest.mark.anyio

WORKERS = 4
PASSWORD = "the old password, before the race"
RACERS = 24
FORGOT_REQUESTS = 12
# How long each reset is held between reading the token and using it (worker_app's password
# policy): longer than it takes to send every racer's request, so that they overlap for sure.
POLICY_SECONDS = 0.5
# How long `spread_connections` keeps reopening connections to spread them over the workers.
SPREAD_SECONDS = 5.0
BAD_TOKEN = (400, {"detail": "RESET_PASSWORD_BAD_TOKEN"})


@dataclass
class Server:
    """A running ``uvicorn --workers`` server and the log its workers share."""

    base_url: str
    pid: int
    """uvicorn's main process, the parent of the workers."""
    shared_log: Path
    output: Path
    strategy: str
    """The reset token strategy: ``jwt`` or ``redis``."""

    def records(self, kind: str) -> list[dict[str, Any]]:
        """The lines of the shared log of one kind (worker_app's HOOK, EVENT or POLICY)."""
        if not self.shared_log.exists():
            return []
        parsed = [json.loads(line) for line in self.shared_log.read_text().splitlines()]
        return [record for record in parsed if record["kind"] == kind]

    def hook_calls(self, hook: str, email: str) -> list[dict[str, Any]]:
        return [
            record
            for record in self.records(HOOK)
            if record["hook"] == hook and record["email"] == email
        ]

    def mails(self, email: str) -> list[dict[str, Any]]:
        return self.hook_calls("on_after_forgot_password", email)

    def events(self, *names: str) -> list[dict[str, Any]]:
        return [record for record in self.records(EVENT) if record["event"] in names]


@asynccontextmanager
async def uvicorn_workers(
    settings: dict[str, str], directory: Path, workers: int
) -> AsyncIterator[Server]:
    """``uvicorn tests.contrib.worker_app:app --workers N`` (see `tests.uvicorn_workers`),
    its output printed if the block fails."""
    output = directory / "uvicorn.log"
    shared_log = directory / "shared.log"
    settings = {**settings, "MAIL_LOG": str(shared_log)}
    # Connections opened before a race must stay open until it starts.
    options = ["--timeout-keep-alive", "60"]
    app = "tests.contrib.worker_app:app"
    try:
        async with start_workers(
            app, settings, output, workers=workers, options=options
        ) as started:
            yield Server(started.base_url, started.pid, shared_log, output, settings["STRATEGY"])
    except BaseException:
        print(f"---- uvicorn output ({output}) ----")
        print(output.read_text(errors="replace") if output.exists() else "(none)")
        raise


# The servers speak plain HTTP; one TLS context for every client spares each new client the
# tens of milliseconds of loading the CA certificates, and the tests open hundreds.
UNUSED_TLS = ssl.create_default_context()


def client_of(server: Server) -> httpx.AsyncClient:
    """A client of its own on ``server``: its own connection."""
    return httpx.AsyncClient(base_url=server.base_url, timeout=30, verify=UNUSED_TLS)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Module scope, so that one server can serve every test of its parameters."""
    return "asyncio"


SERVER_KINDS = [("uuid", "jwt"), ("int", "jwt"), ("uuid", "redis"), ("int", "redis")]


@pytest.fixture(scope="module", params=SERVER_KINDS, ids=["-".join(kind) for kind in SERVER_KINDS])
async def server(
    request: pytest.FixtureRequest,
    postgres: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Server]:
    """The worker application on a fresh PostgreSQL database, for every test of one id kind
    and token strategy (pytest runs them together, then stops it: one server at a time).

    Each test uses an address of its own. The password policy holds every reset and
    registration POLICY_SECONDS.
    """
    id_kind, strategy = request.param
    directory = tmp_path_factory.mktemp(f"{id_kind}-{strategy}")
    databases = FreshDatabases("postgresql", directory, postgres.url)
    try:
        url = await databases.new_url()
        database = database_of(url, id_kind)
        try:
            await database.create_tables()
        finally:
            await database.engine.dispose()
        settings = {
            "DATABASE_URL": url,
            "ID_KIND": id_kind,
            "STRATEGY": strategy,
            "POLICY_SECONDS": str(POLICY_SECONDS),
        }
        if strategy == "redis":
            redis_server: RedisServer = request.getfixturevalue("redis_server")
            settings["REDIS_URL"] = redis_server.url
            settings["KEY_PREFIX"] = unique_prefix()
        async with uvicorn_workers(settings, directory, WORKERS) as started:
            yield started
    finally:
        await databases.drop_all()


@dataclass(frozen=True)
class Answer:
    response: httpx.Response

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def pid(self) -> str:
        """The worker process that answered."""
        return self.response.headers[PID_HEADER]

    @property
    def outcome(self) -> tuple[int, object]:
        try:
            return self.status, self.response.json()
        except ValueError:
            return self.status, self.response.text


async def spread_connections(
    server: Server, count: int, stack: AsyncExitStack
) -> list[tuple[httpx.AsyncClient, str]]:
    """``count`` clients, each with one connection open on a worker, and that worker's pid.

    Which worker accepts a connection is the kernel's choice, and one worker that wakes first
    can take every pending one. So connections are opened one at a time, and one that lands
    on a worker that already has its share (count / WORKERS) is closed and opened again; after
    SPREAD_SECONDS, any worker will do (the tests then see the imbalance and say so).
    """
    share = -(-count // WORKERS)
    per_worker: Counter[str] = Counter()
    kept: list[tuple[httpx.AsyncClient, str]] = []
    deadline = time.monotonic() + SPREAD_SECONDS
    while len(kept) < count:
        client = client_of(server)
        try:
            answer = Answer(await client.get("/pid"))
            assert answer.outcome == (200, int(answer.pid)), answer.outcome
        except BaseException:
            await client.aclose()
            raise
        if per_worker[answer.pid] < share or time.monotonic() > deadline:
            per_worker[answer.pid] += 1
            stack.push_async_callback(client.aclose)
            kept.append((client, answer.pid))
        else:
            await client.aclose()
    return kept


async def race(
    server: Server, count: int, send: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
) -> list[Answer]:
    """``send(client, i)`` for i in range(count), all let go at once.

    Each sender has a client of its own whose connection is already open (`spread_connections`),
    so the requests leave together, spread over the workers.
    """
    go = anyio.Event()
    waiting: list[int] = []
    answers: dict[int, Answer] = {}

    async def sender(client: httpx.AsyncClient, index: int) -> None:
        waiting.append(index)
        await go.wait()
        answers[index] = Answer(await send(client, index))

    async with AsyncExitStack() as stack:
        connections = await spread_connections(server, count, stack)
        async with anyio.create_task_group() as senders:
            for index, (client, _) in enumerate(connections):
                senders.start_soon(sender, client, index)
            await eventually(lambda: len(waiting) == count, 5, "every sender at the start")
            go.set()
    return [answers[index] for index in range(count)]


async def register(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text


async def logs_in(client: httpx.AsyncClient, email: str, password: str) -> bool:
    response = await client.post("/auth/jwt/login", data={"username": email, "password": password})
    assert response.status_code in (200, 400), response.text
    return response.status_code == 200


async def test_one_token_raced_over_worker_processes_resets_the_password_once(
    server: Server,
) -> None:
    """RACERS resets with one token and as many passwords, together over the workers:
    exactly one 200, every other 400 RESET_PASSWORD_BAD_TOKEN, and only the winner's
    password logs in (JWT: the database's compare-and-set decides; Redis: the consume too)."""
    email = "racer@example.com"
    passwords = [f"new password of racer number {index:02d}" for index in range(RACERS)]
    async with client_of(server) as client:
        await register(client, email)
        asked = await client.post("/auth/forgot-password", json={"email": email})
        assert asked.status_code == 202, asked.text
        await eventually(lambda: bool(server.mails(email)), 10, "the reset mail")
        (mail,) = server.mails(email)
        token = mail["token"]
        policy_calls_before = len(server.records(POLICY))

        answers = await race(
            server,
            RACERS,
            lambda racer, index: racer.post(
                "/auth/reset-password", json={"token": token, "password": passwords[index]}
            ),
        )
        winners = [index for index, answer in enumerate(answers) if answer.status == 200]

        def reset_hook_calls() -> list[dict[str, Any]]:
            return server.hook_calls("on_after_reset_password", email)

        await eventually(
            lambda: len(reset_hook_calls()) >= len(winners), 10, "on_after_reset_password"
        )
        working: list[int] = []

        async def try_password(index: int) -> None:
            if await logs_in(client, email, passwords[index]):
                working.append(index)

        async with anyio.create_task_group() as logins:
            for index in range(RACERS):
                logins.start_soon(try_password, index)
        logging_in = sorted(working)
        old_password_works = await logs_in(client, email, PASSWORD)

    # Each policy call is a reset that found the token valid and went on to use it.
    valid_reads = Counter(record["pid"] for record in server.records(POLICY)[policy_calls_before:])
    per_worker = Counter(answer.pid for answer in answers)
    refusals = [answer.outcome for answer in answers if answer.status != 200]
    summary = (
        f"statuses {dict(Counter(answer.status for answer in answers))}, winners {winners}, "
        f"passwords that log in {logging_in}, answers per worker {dict(per_worker)}, "
        f"valid token reads per worker {dict(valid_reads)}, "
        f"{len(reset_hook_calls())} on_after_reset_password calls"
    )
    print(summary)
    assert len(per_worker) >= 2, f"the resets did not spread over workers: {summary}"
    assert len(valid_reads) >= 2, f"no two workers raced with the valid token: {summary}"
    assert len(winners) == 1, f"not exactly one reset succeeded: {summary}"
    assert answers[winners[0]].outcome == (200, None), summary
    assert all(refusal == BAD_TOKEN for refusal in refusals), f"{refusals[:3]}: {summary}"
    assert logging_in == winners, summary
    assert not old_password_works, summary
    assert len(reset_hook_calls()) == 1, summary


async def test_concurrent_forgot_requests_over_worker_processes_are_throttled(
    server: Server,
) -> None:
    """FORGOT_REQUESTS forgot-password requests for one address, together over the workers.

    Redis: one mail in all, the others throttled by the strategy's per-user interval kept in
    Redis. JWT (no shared store, documented): one mail per worker process that got a request.
    """
    email = "asker@example.com"
    async with client_of(server) as client:
        await register(client, email)
    answers = await race(
        server,
        FORGOT_REQUESTS,
        lambda sender, index: sender.post("/auth/forgot-password", json={"email": email}),
    )
    assert [answer.outcome for answer in answers] == [(202, None)] * FORGOT_REQUESTS
    user_id = server.hook_calls("on_after_register", email)[0]["user_id"]

    def outcomes() -> list[dict[str, Any]]:
        found = server.events("token_issued", "throttled")
        return [record for record in found if record["user_id"] == user_id]

    # Every job has decided, and every issued token has reached the mail hook.
    await eventually(lambda: len(outcomes()) == FORGOT_REQUESTS, 15, "every forgot-password job")
    issued = [record for record in outcomes() if record["event"] == "token_issued"]
    await eventually(lambda: len(server.mails(email)) >= len(issued), 10, "every mail")
    jobs_per_worker = Counter(record["pid"] for record in outcomes())
    mails_per_worker = Counter(mail["pid"] for mail in server.mails(email))
    summary = (
        f"{len(issued)} issued, mails per worker {dict(mails_per_worker)}, "
        f"jobs per worker {dict(jobs_per_worker)}, "
        f"answers per worker {dict(Counter(answer.pid for answer in answers))}"
    )
    print(summary)
    assert len(jobs_per_worker) >= 2, f"the jobs did not spread over workers: {summary}"
    assert len(outcomes()) == FORGOT_REQUESTS, summary
    if server.strategy == "redis":
        assert len(issued) == 1, summary
        assert sum(mails_per_worker.values()) == 1, summary
    else:
        assert mails_per_worker == Counter(set(jobs_per_worker)), summary


def parent_of(pid: int) -> int:
    """The parent process id of ``pid``, from /proc (field 4 of its stat, after the name)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


async def test_the_server_answers_from_several_worker_processes(server: Server) -> None:
    """The races above are between processes: every worker answers, each a child of uvicorn."""
    async with AsyncExitStack() as stack:
        connections = await spread_connections(server, 2 * WORKERS, stack)
    seen = Counter(pid for _, pid in connections)
    pids = sorted(int(pid) for pid in seen)
    assert len(pids) == WORKERS, f"answers came from {dict(seen)}"
    assert os.getpid() not in pids and server.pid not in pids
    assert [parent_of(pid) for pid in pids] == [server.pid] * WORKERS, pids
