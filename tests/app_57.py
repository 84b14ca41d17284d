"""An application written for fastapi-users 5-7, with only its imports (and the secret's
length) changed: its own user database over SQLite, its own hooks, and code that decodes the
token it mails, as the fastapi-users 5-7 documentation showed.

``uvicorn tests.app_57:app --workers N`` serves it from the SQLite file named by
``APP57_DATABASE``; ``APP57_OUTBOX`` names the file its mail hook appends each token to, and
``APP57_ATOMIC=1`` gives the database a compare-and-set of its own (``replace_password_hash``);
``APP57_POLICY_SECONDS`` and ``APP57_READ_SECONDS`` are how long its password policy and
each ``get`` take (default 0).
tests/test_compat_57.py also builds it in process with `create_app`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import anyio
import jwt
from argon2.profiles import CHEAPEST
from fastapi import FastAPI, Request
from pydantic import UUID4

from fastapi_password_reset import FastAPIUsers, InvalidPasswordException, PasswordHelper, models
from fastapi_password_reset.authentication import JWTAuthentication
from fastapi_password_reset.db import BaseUserDatabase
from tests.uvicorn_workers import WorkerPidHeader

SECRET = "an application secret of at least thirty-two bytes"
COLUMNS = ("id", "email", "hashed_password", "is_active", "is_superuser", "is_verified")


class User(models.BaseUser):
    pass


class UserCreate(models.BaseUserCreate):
    pass


class UserUpdate(User, models.BaseUserUpdate):
    pass


class UserDB(User, models.BaseUserDB):
    pass


def create_schema(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, email TEXT UNIQUE NOT NULL,"
            " hashed_password TEXT NOT NULL, is_active INTEGER NOT NULL,"
            " is_superuser INTEGER NOT NULL, is_verified INTEGER NOT NULL)"
        )


class SQLiteUserDatabase(BaseUserDatabase[UserDB]):
    """A user database of the kind 5-7 applications wrote: five coroutines, no more."""

    def __init__(self, user_db_model: type[UserDB], path: Path, read_seconds: float = 0) -> None:
        super().__init__(user_db_model)
        self.path = path
        self.read_seconds = read_seconds

    async def _one(self, where: str, value: str) -> UserDB | None:
        async with aiosqlite.connect(self.path) as connection:
            cursor = await connection.execute(
                f"SELECT {', '.join(COLUMNS)} FROM users WHERE {where} = ?",  # noqa: S608
                (value,),
            )
            row = await cursor.fetchone()
        return None if row is None else self.user_db_model(**dict(zip(COLUMNS, row, strict=True)))

    async def get(self, id: UUID4) -> UserDB | None:
        user = await self._one("id", str(id))
        await anyio.sleep(self.read_seconds)  # a slow answer widens every read-then-write race
        return user

    async def get_by_email(self, email: str) -> UserDB | None:
        return await self._one("lower(email)", email.lower())

    async def create(self, user: UserDB) -> UserDB:
        async with aiosqlite.connect(self.path) as connection:
            await connection.execute("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)", self._row(user))
            await connection.commit()
        return user

    async def update(self, user: UserDB) -> UserDB:
        async with aiosqlite.connect(self.path) as connection:
            await connection.execute(
                "UPDATE users SET email = ?, hashed_password = ?, is_active = ?,"
                " is_superuser = ?, is_verified = ? WHERE id = ?",
                (*self._row(user)[1:], str(user.id)),
            )
            await connection.commit()
        return user

    async def delete(self, user: UserDB) -> None:
        async with aiosqlite.connect(self.path) as connection:
            await connection.execute("DELETE FROM users WHERE id = ?", (str(user.id),))
            await connection.commit()

    @staticmethod
    def _row(user: UserDB) -> tuple[Any, ...]:
        return (
            str(user.id),
            user.email,
            user.hashed_password,
            user.is_active,
            user.is_superuser,
            user.is_verified,
        )


class AtomicSQLiteUserDatabase(SQLiteUserDatabase):
    """The same database with the one method that makes resets single-use across processes."""

    async def replace_password_hash(self, id: UUID4, old_hash: str, new_hash: str) -> bool:
        async with aiosqlite.connect(self.path) as connection:
            cursor = await connection.execute(
                "UPDATE users SET hashed_password = ? WHERE id = ? AND hashed_password = ?",
                (new_hash, str(id), old_hash),
            )
            await connection.commit()
            return cursor.rowcount == 1


def create_app(
    database: Path,
    outbox: Path,
    *,
    atomic: bool,
    policy_seconds: float = 0,
    read_seconds: float = 0,
) -> tuple[FastAPI, FastAPIUsers[Any]]:
    database_class = AtomicSQLiteUserDatabase if atomic else SQLiteUserDatabase
    user_db = database_class(UserDB, database, read_seconds)

    async def validate_password(password: str, user: UserCreate | UserDB) -> None:
        if len(password) < 8:
            raise InvalidPasswordException(reason="Password should be at least 8 characters")
        await anyio.sleep(policy_seconds)  # a slow policy holds concurrent resets together

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
        validate_password=validate_password,
        password_helper=PasswordHelper(CHEAPEST),  # the tests' cost; the default in production
    )

    def on_after_forgot_password(user: UserDB, token: str, request: Request) -> None:
        # What 5-7 applications did with the token: read the user it names, then mail it.
        data = jwt.decode(token, SECRET, audience="fastapi-users:reset", algorithms=["HS256"])
        mail = {"to": user.email, "user_id": data["user_id"], "token": token}
        with outbox.open("a", encoding="utf-8") as file:
            file.write(json.dumps(mail) + "\n")

    async def on_after_reset_password(user: UserDB, request: Request) -> None:
        with outbox.open("a", encoding="utf-8") as file:
            file.write(json.dumps({"to": user.email, "reset": str(user.id)}) + "\n")

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
    return app, fastapi_users


def __getattr__(name: str) -> FastAPI:
    """``app`` for uvicorn, built from the environment on first access."""
    if name == "app":
        app, _ = create_app(
            Path(os.environ["APP57_DATABASE"]),
            Path(os.environ["APP57_OUTBOX"]),
            atomic=os.environ.get("APP57_ATOMIC") == "1",
            policy_seconds=float(os.environ.get("APP57_POLICY_SECONDS", "0")),
            read_seconds=float(os.environ.get("APP57_READ_SECONDS", "0")),
        )
        app.add_middleware(WorkerPidHeader)  # the test's, to see which worker answered
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
