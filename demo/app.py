"""The demo application: sign up, ask for a reset, read the mail, reset, sign in.

- Pages at ``/`` (sign up), ``/forgot``, ``/outbox``, ``/reset``, ``/reset-code`` and
  ``/signin``; the API and its documentation at ``/docs``: Swagger UI served from the
  installed ``fastapi-offline`` package, not a CDN, so that it works offline.
- Users live in SQLite (``DEMO_DATABASE_URL``, default ``sqlite+aiosqlite:///demo.db``), so
  they survive a restart.
- Mail goes to an outbox, shown at ``/outbox`` and printed on the console.
- Reset tokens live in an in-process Redis (fakeredis) unless ``REDIS_URL`` names a real
  server; ``DEMO_TOKENS=jwt`` switches to stateless JWT tokens. The URL is shown only with
  its password masked.
- "Send me a code instead": a second reset router at ``/auth/code`` whose
  `RedisResetCodeStrategy` mails an 8-digit code (15 minutes, five tries) instead of a link.
  It keeps its codes in the same Redis under a key prefix of its own (in JWT mode, in an
  in-process Redis), for the same users.
- At most one reset mail per user every ``DEMO_MIN_INTERVAL_SECONDS`` (10 s; the library's
  default is 60 s), for links and for codes apart.
- The secret comes from ``DEMO_SECRET``, or is made fresh at each start (outstanding tokens
  then die with the process).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from starlette.routing import NoMatchFound

from demo.favicon import favicon_ico
from demo.outbox import Mail, Outbox
from demo.pages import CodeUrls, build_pages
from demo.settings import (
    CODE_LENGTH,
    CODE_LIFETIME_SECONDS,
    CODE_MAX_ATTEMPTS,
    MIN_PASSWORD_LENGTH,
    describe_code_limits,
    group_code,
    min_interval_seconds,
    redact_url,
)
from fastapi_password_reset import FastAPIUsers, InvalidPasswordException, models
from fastapi_password_reset.authentication import JWTAuthentication
from fastapi_password_reset.db.sqlalchemy import SQLAlchemyBaseUserTable, SQLAlchemyUserDatabase
from fastapi_password_reset.tokens import (
    JWTResetTokenStrategy,
    RedisResetCodeStrategy,
    RedisResetTokenStrategy,
    ResetTokenStrategy,
)
from fastapi_password_reset.tokens.redis_codes import DIGITS

SECRET = os.environ.get("DEMO_SECRET") or secrets.token_urlsafe(32)
PUBLIC_URL = os.environ.get("DEMO_PUBLIC_URL", "http://127.0.0.1:8000")
DATABASE_URL = os.environ.get("DEMO_DATABASE_URL", "sqlite+aiosqlite:///demo.db")
MIN_INTERVAL_SECONDS = min_interval_seconds()
TOKEN_LIFETIME_SECONDS = 3600
# The code strategy's keys sit beside the link tokens' in the same Redis, apart from them.
CODE_KEY_PREFIX = "password-reset-code"


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


def make_redis() -> tuple[Redis, str]:
    """The Redis client the demo uses, and a line saying which it is (no password)."""
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        return Redis.from_url(redis_url), f"Redis at {redact_url(redis_url)}"
    import fakeredis

    return fakeredis.FakeAsyncRedis(), "an in-process Redis"


def make_token_strategy(redis: Redis, redis_store: str) -> tuple[ResetTokenStrategy, str]:
    """The link strategy the environment asks for, and a line saying which it is."""
    if os.environ.get("DEMO_TOKENS") == "jwt":
        return JWTResetTokenStrategy(), "stateless JWT tokens"
    return RedisResetTokenStrategy(redis), redis_store


def make_code_strategy(redis: Redis) -> RedisResetCodeStrategy:
    """Codes on the demo's Redis, under a key prefix of their own."""
    return RedisResetCodeStrategy(
        redis,
        alphabet=DIGITS,  # typed on a phone's number pad: see docs/codes.md for the odds
        code_length=CODE_LENGTH,
        max_attempts=CODE_MAX_ATTEMPTS,
        key_prefix=CODE_KEY_PREFIX,
    )


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


def on_after_forgot_code(user: UserDB, code: str, request: Request) -> None:
    # No link: the person types the code on the page where they asked for it. A mail
    # scanner that opens every link cannot use it up.
    outbox.send(
        Mail(
            to=user.email,
            subject="Your password reset code",
            body="Someone asked to reset the password of your account at the "
            f"fastapi-password-reset demo. Your code is {group_code(code)} "
            f"({describe_code_limits(CODE_LIFETIME_SECONDS, CODE_MAX_ATTEMPTS)}). Type it on "
            'the demo\'s "Enter your code" page, with a new password. Nobody from the demo '
            f"will ever ask you for it.\n\n{UNCHANGED}",
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


def after_reset_through(means: str) -> Callable[[UserDB, Request], None]:
    """The "password changed" mail, naming how: ``a reset link`` or ``a reset code``."""

    def on_after_reset_password(user: UserDB, request: Request) -> None:
        changed_at = datetime.now(UTC)
        outbox.send(
            Mail(
                to=user.email,
                subject="Your password was changed",
                body="The password of your account at the fastapi-password-reset demo was "
                f"changed at {changed_at:%H:%M:%S} UTC, through {means}.\n\n"
                f"If you did not do this, ask for a new reset link at {PUBLIC_URL}/forgot and "
                "choose another password.",
                sent_at=changed_at,
            )
        )

    return on_after_reset_password


engine = create_async_engine(DATABASE_URL)
user_db = SQLAlchemyUserDatabase(UserDB, async_sessionmaker(engine), UserTable)
redis_client, redis_store = make_redis()
token_strategy, token_store = make_token_strategy(redis_client, redis_store)
code_strategy = make_code_strategy(redis_client)
code_store = redis_store
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
    description=(
        f"Reset tokens: {token_store}. Reset codes (under /auth/code): {code_store}. "
        "Pages: / /forgot /outbox /reset /reset-code /signin."
    ),
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
        after_reset_through("a reset link"),
        token_strategy=token_strategy,
        min_interval_seconds=MIN_INTERVAL_SECONDS,
        after_forgot_password_unknown=on_after_forgot_password_unknown,
    ),
    prefix="/auth",
    tags=["auth"],
)
# "Send me a code instead": the same users, a code in the mail, a short lifetime.
CODE_PREFIX = "/auth/code"
app.include_router(
    fastapi_users.get_reset_password_router(
        SECRET,
        CODE_LIFETIME_SECONDS,
        on_after_forgot_code,
        after_reset_through("a reset code"),
        token_strategy=code_strategy,
        min_interval_seconds=MIN_INTERVAL_SECONDS,
        after_forgot_password_unknown=on_after_forgot_password_unknown,
    ),
    prefix=CODE_PREFIX,
    tags=["reset by code"],
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
        code_urls=CodeUrls(
            forgot=f"{CODE_PREFIX}/forgot-password", reset=f"{CODE_PREFIX}/reset-password"
        ),
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
