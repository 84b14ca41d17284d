"""The demo application: register, ask for a reset, read the mail, reset, log in.

Mail goes to an outbox printed on the console, standing in for an e-mail service. The secret
comes from ``DEMO_SECRET``, or is made fresh at each start (tokens then die with the process).

Reset tokens are kept in Redis: an in-process one (fakeredis) unless ``REDIS_URL`` names a
real server. ``DEMO_TOKENS=jwt`` switches to stateless JWT tokens instead.
"""

from __future__ import annotations

import os
import secrets
import sys
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse

from fastapi_password_reset import FastAPIUsers, InvalidPasswordException, models
from fastapi_password_reset.authentication import JWTAuthentication
from fastapi_password_reset.db import InMemoryUserDatabase
from fastapi_password_reset.tokens import (
    JWTResetTokenStrategy,
    RedisResetTokenStrategy,
    ResetTokenStrategy,
)

SECRET = os.environ.get("DEMO_SECRET") or secrets.token_urlsafe(32)
PUBLIC_URL = os.environ.get("DEMO_PUBLIC_URL", "http://127.0.0.1:8000")


class User(models.BaseUser):
    pass


class UserCreate(models.BaseUserCreate):
    pass


class UserUpdate(User, models.BaseUserUpdate):
    pass


class UserDB(User, models.BaseUserDB):
    pass


def validate_password(password: str, user: UserCreate | UserDB) -> None:
    if len(password) < 8:
        raise InvalidPasswordException(reason="Password should be at least 8 characters")


def on_after_forgot_password(user: UserDB, token: str, request: Request) -> None:
    # The demo's stand-in for sending an e-mail: the "mail" is printed to the console.
    print(
        f"\n--- OUTBOX: mail to {user.email} ---\n"
        f"Someone asked to reset your password. Use this token at {PUBLIC_URL}/docs\n"
        f"(POST /auth/reset-password):\n\n    {token}\n"
        "--- end of mail ---\n",
        file=sys.stdout,
        flush=True,
    )


def on_after_reset_password(user: UserDB, request: Request) -> None:
    print(f"--- OUTBOX: mail to {user.email}: your password was changed ---", flush=True)


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


token_strategy, token_store = make_token_strategy()
user_db = InMemoryUserDatabase(UserDB)
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

app = FastAPI(
    title="fastapi-password-reset demo",
    description=f"Reset tokens: {token_store}. Reset mails appear on the server's console.",
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


@app.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/docs")


@app.get("/users/me", response_model=User, tags=["users"])
async def read_me(user: Annotated[UserDB, Depends(current_active_user)]) -> UserDB:
    """The signed-in user; proves the new password works after a reset."""
    return user
