"""The seed's setup code, as written for fastapi-users 5-7, runs with only its imports changed."""

from __future__ import annotations

import httpx
import pytest
from argon2.profiles import CHEAPEST

from fastapi_password_reset import InsecureSecretError, PasswordHelper

pytestmark = pytest.mark.anyio

SEED_SECRET = "a-32-byte-or-longer-secret-for-the-seed-app"


async def test_the_seed_code_runs_with_only_its_imports_changed() -> None:
    """Register, forgot, reset and log in through an app built exactly as the seed builds it."""
    from fastapi import FastAPI, Request

    from fastapi_password_reset import FastAPIUsers, models
    from fastapi_password_reset.authentication import JWTAuthentication
    from fastapi_password_reset.db import InMemoryUserDatabase

    SECRET = SEED_SECRET
    sent: list[str] = []
    reset_done: list[str] = []

    # --- the seed's code from here on ---
    class User(models.BaseUser):
        pass

    class UserCreate(models.BaseUserCreate):
        pass

    class UserUpdate(User, models.BaseUserUpdate):
        pass

    class UserDB(User, models.BaseUserDB):
        pass

    user_db = InMemoryUserDatabase(UserDB)
    auth_backends = [
        JWTAuthentication(secret=SECRET, lifetime_seconds=3600, tokenUrl="auth/jwt/login")
    ]
    fastapi_users = FastAPIUsers(
        user_db,
        auth_backends,
        User,
        UserCreate,
        UserUpdate,
        UserDB,
        password_helper=PasswordHelper(CHEAPEST),  # the one addition: cheap hashing in tests
    )

    def on_after_forgot_password(user: UserDB, token: str, request: Request) -> None:
        sent.append(token)

    async def on_after_reset_password(user: UserDB, request: Request) -> None:
        reset_done.append(user.email)

    app = FastAPI()
    app.include_router(fastapi_users.get_register_router(), prefix="/auth", tags=["auth"])
    app.include_router(
        fastapi_users.get_auth_router(auth_backends[0]), prefix="/auth/jwt", tags=["auth"]
    )
    app.include_router(
        fastapi_users.get_reset_password_router(
            SECRET,
            after_forgot_password=on_after_forgot_password,
            after_reset_password=on_after_reset_password,
        ),
        prefix="/auth",
        tags=["auth"],
    )
    # --- end of the seed's code ---

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://seed") as client:
        registered = await client.post(
            "/auth/register", json={"email": "king.arthur@camelot.bt", "password": "guinevere"}
        )
        assert registered.status_code == 201
        assert set(registered.json()) == {"id", "email", "is_active", "is_superuser", "is_verified"}

        forgot = await client.post(
            "/auth/forgot-password", json={"email": "king.arthur@camelot.bt"}
        )
        assert (forgot.status_code, forgot.json()) == (202, None)
        await fastapi_users.background.drain()
        [token] = sent

        reset = await client.post(
            "/auth/reset-password", json={"token": token, "password": "excalibur"}
        )
        assert (reset.status_code, reset.json()) == (200, None)
        await fastapi_users.background.drain()
        assert reset_done == ["king.arthur@camelot.bt"]

        login = await client.post(
            "/auth/jwt/login", data={"username": "king.arthur@camelot.bt", "password": "excalibur"}
        )
        assert login.status_code == 200
        assert login.json()["token_type"] == "bearer"


def test_the_seeds_literal_secret_is_refused_with_a_reason() -> None:
    """get_reset_password_router("SECRET") fails at once and says why and how to fix it."""
    from fastapi_password_reset import FastAPIUsers
    from fastapi_password_reset.db import InMemoryUserDatabase
    from tests.conftest import User, UserCreate, UserDB, UserUpdate, build_app  # noqa: F401 - models for the app

    users = FastAPIUsers(InMemoryUserDatabase(UserDB), [], User, UserCreate, UserUpdate, UserDB)
    with pytest.raises(InsecureSecretError, match=r"6 bytes long; at least 32 bytes") as info:
        users.get_reset_password_router("SECRET")
    assert "secrets.token_urlsafe(32)" in str(info.value)


def test_a_pydantic_secret_str_is_accepted() -> None:
    """The secret may be a SecretStr."""
    from pydantic import SecretStr

    from fastapi_password_reset import FastAPIUsers
    from fastapi_password_reset.db import InMemoryUserDatabase
    from tests.conftest import User, UserCreate, UserDB, UserUpdate

    users = FastAPIUsers(InMemoryUserDatabase(UserDB), [], User, UserCreate, UserUpdate, UserDB)
    router = users.get_reset_password_router(SecretStr(SEED_SECRET))
    paths = {route.path for route in router.routes}  # type: ignore[attr-defined]
    assert paths == {"/forgot-password", "/reset-password", "/reset-password/validate"}
