"""The fastapi-users example application, reset router swapped, for ``uvicorn --workers N``.

``uvicorn tests.contrib.worker_app:app --workers 4`` serves fastapi-users 15's full example
(tests/contrib/example_app.py: its user manager, auth, register, reset, verify and users
routers) with `get_reset_password_router` in place of the stock reset router, configured by
environment variables. tests/contrib/test_workers.py starts it to test what the adapter
promises across worker processes that share one PostgreSQL (and one Redis).

Settings (read when ``app`` is first accessed, so that the test can import this module):

- ``DATABASE_URL``: ``postgresql+asyncpg://...``; the tables exist already (the test creates
  them before the workers start, so that four workers do not race to create them).
- ``ID_KIND``: ``uuid`` or ``int``, the user table of the example.
- ``STRATEGY``: ``jwt`` or ``redis``; with ``redis`` also ``REDIS_URL`` and ``KEY_PREFIX``.
- ``MAIL_LOG``: a file every worker appends to, one JSON object a line (see `SharedLog`):
  each hook call (``on_after_forgot_password`` with its token), each reset event of the
  router's ``on_event``, and each call of the password policy.
- ``POLICY_SECONDS`` (optional, default 0): how long ``validate_password`` takes before it
  accepts a password. A reset runs it after reading the token and before using it, where a
  production-cost hash would spend its time (these workers hash with cheap argon2): a delay
  there keeps concurrent resets in flight together between their read and their write.

Every answer carries the serving worker's process id in the ``X-Worker-Pid`` header.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import redis.asyncio
from fastapi import FastAPI
from fastapi_users import FastAPIUsers, models

from fastapi_password_reset import BackgroundWork, ResetEvent
from fastapi_password_reset.contrib.fastapi_users import get_reset_password_router
from fastapi_password_reset.tokens import (
    JWTResetTokenStrategy,
    RedisResetTokenStrategy,
    ResetTokenStrategy,
)
from tests.contrib.example_app import (
    HookLog,
    IntUserManager,
    RecordingUserManager,
    UUIDUserManager,
    assemble_app,
    auth_backend,
    user_manager_dependency,
)
from tests.contrib.example_db import Database, IntBase, IntUser, UUIDBase, UUIDUser
from tests.contrib.example_schemas import IntUserRead, UUIDUserRead
from tests.uvicorn_workers import WorkerPidHeader

# The "kind" of each line of the shared log.
HOOK = "hook"
EVENT = "event"
POLICY = "policy"


def database_of(url: str, id_kind: str) -> Database:
    """The example's database object for ``id_kind`` (its engine is made, not connected)."""
    if id_kind == "uuid":
        return Database(url, UUIDBase.metadata)
    if id_kind == "int":
        return Database(url, IntBase.metadata)
    raise ValueError(f"ID_KIND must be uuid or int, not {id_kind!r}")


def append_line(path: str, record: dict[str, Any]) -> None:
    """One line, one ``write`` on a descriptor opened with O_APPEND for this call.

    Each such write lands whole at the end of the file, so lines written by several
    processes at once never interleave or overwrite each other.
    """
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        written = os.write(descriptor, line)
        assert written == len(line), "a short write to the shared log"
    finally:
        os.close(descriptor)


class SharedLog(HookLog):
    """The example's hook log, also appended to ``path`` for the test process to read.

    A line is ``{"kind": "hook", "hook": ..., "email": ..., "token": ..., "user_id": ...,
    "pid": ...}`` for a hook call, ``{"kind": "event", "event": ..., "reason": ...,
    "user_id": ..., "pid": ...}`` for a router event, ``{"kind": "policy", "pid": ...}`` for a
    call of the password policy.
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def record(self, hook: str, user: models.UserProtocol[Any], token: str | None = None) -> None:
        super().record(hook, user, token)
        self.append(HOOK, hook=hook, email=user.email, token=token, user_id=str(user.id))

    def event(self, event: ResetEvent) -> None:
        """The router's ``on_event``: every outcome, with the process it happened in."""
        user_id = None if event.user_id is None else str(event.user_id)
        self.append(EVENT, event=event.event.value, reason=event.reason, user_id=user_id)

    def append(self, kind: str, **fields: Any) -> None:
        append_line(self.path, {"kind": kind, "pid": os.getpid(), **fields})


def create_app() -> FastAPI:
    """The example application over the stores and log named by the environment."""
    id_kind = os.environ["ID_KIND"]
    database = database_of(os.environ["DATABASE_URL"], id_kind)
    manager_class: type[RecordingUserManager[Any, Any]]
    user_table: type[Any]
    read_schema: type[Any]
    if id_kind == "uuid":
        manager_class, user_table, read_schema = UUIDUserManager, UUIDUser, UUIDUserRead
    else:
        manager_class, user_table, read_schema = IntUserManager, IntUser, IntUserRead

    redis_client: redis.asyncio.Redis | None = None
    strategy: ResetTokenStrategy
    kind = os.environ["STRATEGY"]
    if kind == "jwt":
        strategy = JWTResetTokenStrategy()
    elif kind == "redis":
        redis_client = redis.asyncio.Redis.from_url(os.environ["REDIS_URL"])
        strategy = RedisResetTokenStrategy(redis_client, key_prefix=os.environ["KEY_PREFIX"])
    else:
        raise ValueError(f"STRATEGY must be jwt or redis, not {kind!r}")

    log = SharedLog(os.environ["MAIL_LOG"])
    policy_seconds = float(os.environ.get("POLICY_SECONDS", "0"))

    async def slow_policy(password: str, user: Any) -> None:
        """Record the call, then accept every password after ``policy_seconds``."""
        log.append(POLICY)
        await anyio.sleep(policy_seconds)

    get_user_manager = user_manager_dependency(
        database, user_table, manager_class, log, slow_policy if policy_seconds > 0 else None
    )
    fastapi_users = FastAPIUsers[Any, Any](get_user_manager, [auth_backend])
    # The one line an application changes: this router instead of fastapi-users' own.
    reset_router = get_reset_password_router(
        fastapi_users.get_user_manager,
        token_strategy=strategy,
        background=BackgroundWork(),
        on_event=log.event,
    )
    application = assemble_app(database, fastapi_users, read_schema, reset_router)
    application.add_middleware(WorkerPidHeader)

    @application.get("/pid")
    async def pid() -> int:
        """The process id of the worker serving this request."""
        return os.getpid()

    example_lifespan = application.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with example_lifespan(app) as state:
            yield state
        if redis_client is not None:
            await redis_client.aclose()
        await database.engine.dispose()

    application.router.lifespan_context = lifespan
    return application


_built: dict[str, FastAPI] = {}


def __getattr__(name: str) -> FastAPI:
    """``app``, built from the environment on first access (uvicorn's import string)."""
    if name == "app":
        if "app" not in _built:
            _built["app"] = create_app()
        return _built["app"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
