"""The same application on fastapi-users 15 (runs in its own virtual environment).

In-memory users, the same argon2 parameters, the same 100 ms mail hook, and the same
``POST /bench/token`` for timing resets alone.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.db import BaseUserDatabase
from fastapi_users.password import PasswordHelper
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from pydantic import BaseModel

from benchmarks import settings


@dataclass
class User:
    id: uuid.UUID
    email: str
    hashed_password: str
    is_active: bool = True
    is_superuser: bool = False
    is_verified: bool = False


class MemoryUserDatabase(BaseUserDatabase[User, uuid.UUID]):
    def __init__(self) -> None:
        self.by_id: dict[uuid.UUID, User] = {}

    async def get(self, id: uuid.UUID) -> User | None:
        return self.by_id.get(id)

    async def get_by_email(self, email: str) -> User | None:
        return self.by_id.get(settings.user_id(email.lower()))

    async def create(self, create_dict: dict[str, Any]) -> User:
        user = User(**create_dict)
        self.by_id[user.id] = user
        return user

    async def update(self, user: User, update_dict: dict[str, Any]) -> User:
        for field, value in update_dict.items():
            setattr(user, field, value)
        return user

    async def delete(self, user: User) -> None:
        self.by_id.pop(user.id, None)


user_db = MemoryUserDatabase()
password_helper = PasswordHelper(PasswordHash((Argon2Hasher(**settings.ARGON2),)))
tokens: dict[str, str] = {}
quiet_hook = contextvars.ContextVar("quiet_hook", default=False)


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = settings.SECRET
    verification_token_secret = settings.SECRET

    async def on_after_forgot_password(
        self, user: User, token: str, request: Request | None = None
    ) -> None:
        tokens[user.email] = token
        if not quiet_hook.get():
            await asyncio.sleep(settings.HOOK_DELAY_SECONDS)


async def get_user_manager() -> AsyncIterator[UserManager]:
    yield UserManager(user_db, password_helper)


auth_backend = AuthenticationBackend(
    name="jwt",
    transport=BearerTransport(tokenUrl="auth/jwt/login"),
    get_strategy=lambda: JWTStrategy(secret=settings.SECRET, lifetime_seconds=3600),
)
fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [auth_backend])


@asynccontextmanager
async def seed_users(_app: FastAPI) -> AsyncIterator[None]:
    hashed = password_helper.hash(settings.INITIAL_PASSWORD)
    for index in range(settings.USER_COUNT):
        email = settings.user_email(index)
        await user_db.create(
            {"id": settings.user_id(email), "email": email, "hashed_password": hashed}
        )
    yield


app = FastAPI(lifespan=seed_users)
app.include_router(fastapi_users.get_reset_password_router(), prefix="/auth")


class TokenRequest(BaseModel):
    email: str


@app.post("/bench/token")
async def issue_token(
    body: TokenRequest, manager: UserManager = Depends(get_user_manager)
) -> dict[str, Any]:
    user = await user_db.get_by_email(body.email)
    if user is None:
        raise HTTPException(404)
    quiet_hook.set(True)
    await manager.forgot_password(user)
    return {"token": tokens[body.email]}
