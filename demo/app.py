"""The demo application: sign up, ask for a reset, read the mail, reset, sign in.

- Pages at ``/`` (sign up), ``/forgot``, ``/outbox``, ``/reset`` and ``/signin``; the API
  and its documentation at ``/docs``.
- Users live in SQLite (``DEMO_DATABASE_URL``, default ``sqlite+aiosqlite:///demo.db``), so
  they survive a restart.
- Mail goes to an outbox, shown at ``/outbox`` and printed on the console.
- Reset tokens live in an in-process Redis (fakeredis) unless ``REDIS_URL`` names a real
  server; ``DEMO_TOKENS=jwt`` switches to stateless JWT tokens.
- The secret comes from ``DEMO_SECRET``, or is made fresh at each start (outstanding tokens
  then die with the process).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from demo.outbox import Mail, Outbox
from demo.pages import build_pages
from fastapi_password_reset import FastAPIUsers, InvalidPasswordException, models
from fastapi_password_reset.authentication import JWTAuthentication
from fastapi_password_reset.db.sqlalchemy import SQLAlchemyBaseUserTable, SQLAlchemyUserDatabase
from fastapi_password_reset.tokens import (
    JWTResetTokenStrategy,
    RedisResetTokenStrategy,
    ResetTokenStrategy,
)

SECRET = os.environ.get("DEMO_SECRET") or secrets.token_urlsafe(32)
PUBLIC_URL = os.environ.get("DEMO_PUBLIC_URL", "http://127.0.0.1:8000")
DATABASE_URL = os.environ.get("DEMO_DATABASE_URL", "sqlite+aiosqlite:///demo.db")


class User(models.BaseUser):
    pass


class UserCreate(models.BaseUserCreate):
    pass


class UserUpdate(User, models.BaseUserUpdate):
    pass


class UserDB(User, models.BaseUserDB):
    pass


class Base(DeclarativeBase):
    pass


class UserTable(SQLAlchemyBaseUserTable, Base):
    pass


def validate_password(password: str, user: UserCreate | UserDB) -> None:
    if len(password) < 8:
        raise InvalidPasswordException(reason="it should be at least 8 characters long")
    if user.email.split("@")[0].lower() in password.lower():
        raise InvalidPasswordException(reason="it should not contain your e-mail address")


def make_token_strategy() -> tuple[ResetTokenStrategy, str]:
    """The strategy the environment asks for, and a line saying which it is."""
    if os.environ.get("DEMO_TOKENS") == "jwt":
        return JWTResetTokenStrategy(), "stateless JWT tokens"
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        from redis.asyncio import Redis

        return RedisResetTokenStrategy(Redis.from_url(redis_url)), f"Redis at {redis_url}"
    import fakeredis

    return RedisResetTokenStrategy(fakeredis.FakeAsyncRedis()), "an in-process Redis"


outbox = Outbox()


def on_after_forgot_password(user: UserDB, token: str, request: Request) -> None:
    outbox.send(
        Mail(
            to=user.email,
            subject="Reset your password",
            body=f"Someone asked to reset your password. Open this link to choose a new one "
            f"(it works once, within an hour): {PUBLIC_URL}/reset#token={token}",
            link=f"/reset#token={token}",
        )
    )


def on_after_reset_password(user: UserDB, request: Request) -> None:
    outbox.send(
        Mail(to=user.email, subject="Your password was changed", body="If it wasn't you, ...")
    )


engine = create_async_engine(DATABASE_URL)
user_db = SQLAlchemyUserDatabase(UserDB, async_sessionmaker(engine), UserTable)
token_strategy, token_store = make_token_strategy()
jwt_authentication = JWTAuthentication(
    secret=SECRET, lifetime_seconds=3600, tokenUrl="auth/jwt/login"
)
fastapi_users = FastAPIUsers(
    user_db,
    [jwt_authentication],
    User,
    UserCreate,
    UserUpdate,
    UserDB,
    validate_password=validate_password,
)
current_active_user = fastapi_users.current_user(active=True)


@asynccontextmanager
async def create_tables(_app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(
    title="fastapi-password-reset demo",
    description=f"Reset tokens: {token_store}. Pages: / /forgot /outbox /reset /signin.",
    lifespan=create_tables,
)
app.include_router(fastapi_users.get_register_router(), prefix="/auth", tags=["auth"])
app.include_router(
    fastapi_users.get_auth_router(jwt_authentication), prefix="/auth/jwt", tags=["auth"]
)
app.include_router(
    fastapi_users.get_reset_password_router(
        SECRET,
        3600,
        on_after_forgot_password,
        on_after_reset_password,
        token_strategy=token_strategy,
    ),
    prefix="/auth",
    tags=["auth"],
)
app.include_router(build_pages(outbox))
app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")


@app.get("/users/me", response_model=User, tags=["users"])
async def read_me(user: Annotated[UserDB, Depends(current_active_user)]) -> UserDB:
    """The signed-in user; proves the new password works after a reset."""
    return user
