"""This library's benchmark application.

``BENCH_TOKENS=jwt`` (default) or ``redis`` with ``REDIS_URL``. Users are seeded at startup;
``POST /bench/token`` issues a reset token directly, for timing resets alone.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

from benchmarks import settings
from fastapi_password_reset import FastAPIUsers, PasswordHelper, models
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


async def after_forgot_password(user: UserDB, token: str, request: Request) -> None:
    await asyncio.sleep(settings.HOOK_DELAY_SECONDS)


user_db = InMemoryUserDatabase(UserDB)
password_helper = PasswordHelper(RFC_9106_LOW_MEMORY)
strategy = make_strategy()
fastapi_users = FastAPIUsers(
    user_db, [], User, UserCreate, UserUpdate, UserDB, password_helper=password_helper
)


@asynccontextmanager
async def seed_users(_app: FastAPI) -> AsyncIterator[None]:
    # A fixed salt: every worker process must hold the same hash for the same user.
    hasher = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
    hashed = hasher.hash(settings.INITIAL_PASSWORD, salt=settings.SEED_SALT)
    for index in range(settings.USER_COUNT):
        email = settings.user_email(index)
        await user_db.create(
            UserDB(id=settings.user_id(email), email=email, hashed_password=hashed)
        )
    yield


app = FastAPI(lifespan=seed_users)
app.include_router(
    fastapi_users.get_reset_password_router(
        settings.SECRET, 3600, after_forgot_password, token_strategy=strategy
    ),
    prefix="/auth",
)


class TokenRequest(BaseModel):
    email: str


@app.post("/bench/token")
async def issue_token(body: TokenRequest) -> dict[str, Any]:
    user = await user_db.get_by_email(body.email)
    if user is None:
        raise HTTPException(404)
    return {"token": await strategy.issue_token(user)}
