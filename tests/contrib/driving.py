"""A client on an example application, with the steps the tests repeat: register, log in, ask
for a reset token, reset."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import delete, func, select, update

from tests.contrib.example_app import ExampleApp
from tests.contrib.example_db import IntUser, UUIDUser

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase 42"


@dataclass
class Driver:
    example: ExampleApp
    client: httpx.AsyncClient

    @property
    def user_table(self) -> type[Any]:
        """The application's ORM user class.

        Typed Any for queries: fastapi-users declares the columns to type checkers as plain
        attributes (``email: str``), which SQLAlchemy's typed ``select()`` does not accept.
        """
        return UUIDUser if self.example.id_kind == "uuid" else IntUser

    async def register(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = await self.client.post(
            "/auth/register", json={"email": email, "password": password}
        )
        assert response.status_code == 201, response.text
        registered: dict[str, Any] = response.json()
        return registered

    async def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.client.post(
            "/auth/jwt/login", data={"username": email, "password": password}
        )

    async def bearer(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        """Authorization headers of a fresh login."""
        response = await self.login(email, password)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def password_works(self, email: str, password: str) -> bool:
        status = (await self.login(email, password)).status_code
        assert status in (200, 400), status
        return status == 200

    async def forgot(self, email: str) -> httpx.Response:
        """POST /auth/forgot-password, then wait for what runs after the answer."""
        response = await self.client.post("/auth/forgot-password", json={"email": email})
        await self.example.settle()
        return response

    async def reset_token(self, email: str) -> str:
        """A token mailed to ``email`` (on_after_forgot_password), asked for right now."""
        before = len(self.example.hooks.named("on_after_forgot_password"))
        assert (await self.forgot(email)).status_code == 202
        assert len(self.example.hooks.named("on_after_forgot_password")) == before + 1
        return self.example.hooks.token_for("on_after_forgot_password", email)

    async def reset(self, token: str, password: str = NEW_PASSWORD) -> httpx.Response:
        """POST /auth/reset-password, then wait for what runs after the answer."""
        response = await self.client.post(
            "/auth/reset-password", json={"token": token, "password": password}
        )
        await self.example.settle()
        return response

    async def set_active(self, email: str, active: bool) -> None:
        """Flip ``is_active`` in the database, as an administrator would."""
        table = self.user_table
        async with self.example.database.sessions.begin() as session:
            await session.execute(
                update(table)
                .where(func.lower(table.email) == email.lower())
                .values(is_active=active)
            )

    async def delete_user(self, email: str) -> None:
        table = self.user_table
        async with self.example.database.sessions.begin() as session:
            await session.execute(delete(table).where(func.lower(table.email) == email.lower()))

    async def stored_hash(self, email: str) -> str | None:
        """The password hash in the database; None when there is no such user."""
        table = self.user_table
        async with self.example.database.sessions() as session:
            found: str | None = await session.scalar(
                select(table.hashed_password).where(func.lower(table.email) == email.lower())
            )
        return found

    async def user_id(self, email: str) -> str:
        table = self.user_table
        async with self.example.database.sessions() as session:
            found = await session.scalar(
                select(table.id).where(func.lower(table.email) == email.lower())
            )
        assert found is not None, email
        return str(found)


OpenDriver = Callable[..., Awaitable[Driver]]
"""The ``open_driver`` fixture: ``await open_driver("stock" | "swapped", **options)``."""
