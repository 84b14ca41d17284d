"""The demo application: sign up, ask for a reset, read the mail, reset, sign in.

- Pages at ``/`` (sign up), ``/forgot``, ``/outbox``, ``/reset`` and ``/signin``; the API
  and its documentation at ``/docs``: Swagger UI served from the installed
  ``fastapi-offline`` package, not a CDN, so that it works offline.
- Users live in SQLite (``DEMO_DATABASE_URL``, default ``sqlite+aiosqlite:///demo.db``), so
  they survive a restart.
- Mail goes to an outbox, shown at ``/outbox`` and printed on the console.
- Reset tokens live in an in-process Redis (fakeredis) unless ``REDIS_URL`` names a real
  server; ``DEMO_TOKENS=jwt`` switches to stateless JWT tokens. The URL is shown only with
  its password masked.
- At most one reset mail per user every ``DEMO_MIN_INTERVAL_SECONDS`` (10 s; the library's
  default is 60 s).
- The secret comes from ``DEMO_SECRET``, or is made fresh at each start (outstanding tokens
  then die with the process).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from starlette.routing import NoMatchFound

from demo.favicon import favicon_ico
from demo.outbox import Mail, Outbox
from demo.pages import build_pages
from demo.settings import MIN_PASSWORD_LENGTH, min_interval_seconds, redact_url
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
MIN_INTERVAL_SECONDS = min_interval_seconds()
TOKEN_LIFETIME_SECONDS = 3600


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
    """The rule the sign-up and reset pages state (`demo.settings.PASSWORD_RULE`)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidPasswordException(
            reason=f"it should be at least {MIN_PASSWORD_LENGTH} characters long"
        )
    if user.email.split("@")[0].lower() in password.lower():
        raise InvalidPasswordException(
            reason="it should not contain the part of your e-mail address before the @"
        )


def make_token_strategy() -> tuple[ResetTokenStrategy, str]:
    """The strategy the environment asks for, and a line saying which it is (no password)."""
    if os.environ.get("DEMO_TOKENS") == "jwt":
        return JWTResetTokenStrategy(), "stateless JWT tokens"
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        from redis.asyncio import Redis

        return RedisResetTokenStrategy(Redis.from_url(redis_url)), (
            f"Redis at {redact_url(redis_url)}"
        )
    import fakeredis

    return RedisResetTokenStrategy(fakeredis.FakeAsyncRedis()), "an in-process Redis"


outbox = Outbox()
UNCHANGED = "If you did not ask for this, ignore this mail; your password is unchanged."


def on_after_forgot_password(user: UserDB, token: str, request: Request) -> None:
    link = f"/reset#token={token}"
    outbox.send(
        Mail(
            to=user.email,
            subject="Reset your password",
            body="Someone asked to reset the password of your account at the "
            "fastapi-password-reset demo. Open this link to choose a new one (it works once, "
            f"within an hour):\n\n{PUBLIC_URL}{link}\n\n{UNCHANGED}",
            link=link,
        )
    )


def on_after_forgot_password_unknown(email: str, request: Request) -> None:
    outbox.send(
        Mail(
            to=email,
            subject="About your password reset request",
            body="Someone asked to reset the password of an account at the "
            "fastapi-password-reset demo for this address, but no account uses it. If you "
            "have an account under another address, ask again with that one.\n\n"
            "If you did not ask for this, ignore this mail.",
        )
    )


def on_after_reset_password(user: UserDB, request: Request) -> None:
    changed_at = datetime.now(UTC)
    outbox.send(
        Mail(
            to=user.email,
            subject="Your password was changed",
            body="The password of your account at the fastapi-password-reset demo was changed "
            f"at {changed_at:%H:%M:%S} UTC, through a reset link.\n\n"
            f"If you did not do this, ask for a new reset link at {PUBLIC_URL}/forgot and "
            "choose another password.",
            sent_at=changed_at,
        )
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


app = FastAPIOffline(
    title="fastapi-password-reset demo",
    version=version("fastapi-password-reset"),
    description=f"Reset tokens: {token_store}. Pages: / /forgot /outbox /reset /signin.",
    lifespan=create_tables,
    favicon_url="/favicon.ico",
    # ReDoc would load its logo from its vendor's CDN: /docs (Swagger UI) is the API page.
    redoc_url=None,
    # No badge from the online validator: the page loads nothing from other hosts.
    swagger_ui_parameters={"validatorUrl": None},
)
app.include_router(fastapi_users.get_register_router(), prefix="/auth", tags=["auth"])
app.include_router(
    fastapi_users.get_auth_router(jwt_authentication), prefix="/auth/jwt", tags=["auth"]
)
app.include_router(
    fastapi_users.get_reset_password_router(
        SECRET,
        TOKEN_LIFETIME_SECONDS,
        on_after_forgot_password,
        on_after_reset_password,
        token_strategy=token_strategy,
        min_interval_seconds=MIN_INTERVAL_SECONDS,
        after_forgot_password_unknown=on_after_forgot_password_unknown,
    ),
    prefix="/auth",
    tags=["auth"],
)


def route_path(application: FastAPI, name: str) -> str | None:
    """The path of the route called ``name``, or None where the library has no such route."""
    try:
        return str(application.url_path_for(name))
    except NoMatchFound:
        return None


app.include_router(
    build_pages(
        outbox,
        min_interval_seconds=MIN_INTERVAL_SECONDS,
        validate_url=route_path(app, "reset:validate_token"),
    )
)
app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")


@app.api_route("/favicon.ico", methods=["GET", "HEAD"], include_in_schema=False)
async def favicon() -> Response:
    return Response(
        favicon_ico(),
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@app.get("/users/me", response_model=User, tags=["users"])
async def read_me(user: Annotated[UserDB, Depends(current_active_user)]) -> UserDB:
    """The signed-in user; proves the new password works after a reset."""
    return user
