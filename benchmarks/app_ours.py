"""This library's benchmark application, configured by environment variables.

- ``BENCH_TOKENS``: ``jwt`` (default) or ``redis`` with ``REDIS_URL``.
- ``BENCH_HOOK``: the ``after_forgot_password`` mail hook: ``async`` (default, awaits
  ``asyncio.sleep``), ``sync`` (a plain function, ``time.sleep``) or ``hang`` (a plain function
  that never returns in practice: it sleeps an hour). ``BENCH_HOOK_SECONDS`` is the sleep.
- ``BENCH_MIN_INTERVAL`` and ``BENCH_DRAIN_SECONDS``: the router's throttle and the background
  work's drain timeout; the library's defaults when unset.

Users are seeded at startup: ``settings.USER_COUNT`` with a current hash and
``settings.OUTDATED_USER_COUNT`` with an outdated one. Routes for measuring, next to the
library's: ``POST /bench/token`` issues a reset token directly (to time resets alone),
``POST /bench/bare`` is a bare FastAPI endpoint with forgot-password's body model,
``GET /bench/ping`` a cheap probe, ``GET /bench/sync`` one of the application's own sync
(``def``) endpoints, and ``GET /bench/pending`` the background work's queue and the flow's
outcomes.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY
from fastapi import APIRouter, FastAPI, HTTPException, Request
from pydantic import BaseModel

from benchmarks import settings
from fastapi_password_reset import (
    BackgroundWork,
    FastAPIUsers,
    PasswordHelper,
    ResetEvent,
    models,
)
from fastapi_password_reset.authentication import JWTAuthentication
from fastapi_password_reset.db import InMemoryUserDatabase
from fastapi_password_reset.tokens import (
    JWTResetTokenStrategy,
    RedisResetTokenStrategy,
    ResetTokenStrategy,
)

assert {
    "time_cost": RFC_9106_LOW_MEMORY.time_cost,
    "memory_cost": RFC_9106_LOW_MEMORY.memory_cost,
    "parallelism": RFC_9106_LOW_MEMORY.parallelism,
    "hash_len": RFC_9106_LOW_MEMORY.hash_len,
    "salt_len": RFC_9106_LOW_MEMORY.salt_len,
} == settings.ARGON2

HOOK = os.environ.get("BENCH_HOOK", "async")
HOOK_SECONDS = float(os.environ.get("BENCH_HOOK_SECONDS", settings.HOOK_DELAY_SECONDS))
HANG_SECONDS = 3600.0


class User(models.BaseUser):
    pass


class UserCreate(models.BaseUserCreate):
    pass


class UserUpdate(User, models.BaseUserUpdate):
    pass


class UserDB(User, models.BaseUserDB):
    pass


def make_strategy() -> ResetTokenStrategy:
    if os.environ.get("BENCH_TOKENS", "jwt") == "redis":
        from redis.asyncio import Redis

        return RedisResetTokenStrategy(Redis.from_url(os.environ["REDIS_URL"]))
    return JWTResetTokenStrategy()


# What the flow did, by event, and how many mails the hook finished sending.
outcomes: Counter[str] = Counter()


def count_event(event: ResetEvent) -> None:
    outcomes[event.event.value] += event.count


async def send_mail_async(user: UserDB, token: str, request: Request) -> None:
    await asyncio.sleep(HOOK_SECONDS)
    outcomes["mail_sent"] += 1


def send_mail_sync(user: UserDB, token: str, request: Request) -> None:
    time.sleep(HOOK_SECONDS)
    outcomes["mail_sent"] += 1


def send_mail_hanging(user: UserDB, token: str, request: Request) -> None:
    time.sleep(HANG_SECONDS)


HOOKS = {"async": send_mail_async, "sync": send_mail_sync, "hang": send_mail_hanging}


def router_options() -> dict[str, Any]:
    """Only what the environment sets, so that unset means the library's default."""
    if "BENCH_MIN_INTERVAL" in os.environ:
        return {"min_interval_seconds": float(os.environ["BENCH_MIN_INTERVAL"])}
    return {}


def make_background() -> BackgroundWork:
    if "BENCH_DRAIN_SECONDS" in os.environ:
        return BackgroundWork(drain_timeout_seconds=float(os.environ["BENCH_DRAIN_SECONDS"]))
    return BackgroundWork()


user_db = InMemoryUserDatabase(UserDB)
password_helper = PasswordHelper(RFC_9106_LOW_MEMORY)
strategy = make_strategy()
auth_backend = JWTAuthentication(settings.SECRET, 3600)
fastapi_users = FastAPIUsers(
    user_db,
    [auth_backend],
    User,
    UserCreate,
    UserUpdate,
    UserDB,
    password_helper=password_helper,
    background=make_background(),
    on_event=count_event,
)


@asynccontextmanager
async def seed_users(_app: FastAPI) -> AsyncIterator[None]:
    # A fixed salt: every worker process must hold the same hash for the same user.
    current = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
    old = settings.OUTDATED_ARGON2
    outdated = PasswordHasher(
        old["time_cost"], old["memory_cost"], old["parallelism"], old["hash_len"], old["salt_len"]
    )
    for hasher, count, email_of in (
        (current, settings.USER_COUNT, settings.user_email),
        (outdated, settings.OUTDATED_USER_COUNT, settings.outdated_email),
    ):
        hashed = hasher.hash(settings.INITIAL_PASSWORD, salt=settings.SEED_SALT)
        for index in range(count):
            email = email_of(index)
            await user_db.create(
                UserDB(id=settings.user_id(email), email=email, hashed_password=hashed)
            )
    yield


app = FastAPI(lifespan=seed_users)
app.include_router(
    fastapi_users.get_reset_password_router(
        settings.SECRET, 3600, HOOKS[HOOK], token_strategy=strategy, **router_options()
    ),
    prefix="/auth",
)
app.include_router(fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt")
bench = APIRouter(prefix="/bench")


class TokenRequest(BaseModel):
    email: str


class ForgotPasswordBody(BaseModel):
    """Forgot-password's body model: the library's own e-mail type, the only field."""

    email: models.Email


@bench.post("/token")
async def issue_token(body: TokenRequest) -> dict[str, Any]:
    user = await user_db.get_by_email(body.email)
    if user is None:
        raise HTTPException(404)
    # Unthrottled, as application code would: resets are timed many times per user.
    return {"token": await strategy.issue_token(user, throttle=False)}


@bench.post("/bare", status_code=202)
async def bare(body: ForgotPasswordBody) -> None:
    """What forgot-password would cost as a plain FastAPI endpoint doing nothing."""


@bench.get("/ping")
async def ping() -> None:
    """The cheapest request the event loop can answer: a probe of what else it is doing."""


@bench.get("/sync")
def sync_endpoint() -> None:
    """One of the application's own sync endpoints: it needs a thread of AnyIO's pool."""


@bench.get("/pending")
async def pending() -> dict[str, Any]:
    background = fastapi_users.background
    return {"pending": background.pending, "shed": background.shed, "outcomes": outcomes}


app.include_router(bench)
