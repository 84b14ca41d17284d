"""The adapter at its edges: ids of the other kind, hooks that use their manager, dependency
chains that read the request, passwords the hasher cannot take."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Query
from fastapi_users.exceptions import InvalidPasswordException
from fastapi_users.password import PasswordHelper
from pwdlib import PasswordHash
from pwdlib.hashers.bcrypt import BcryptHasher
from sqlalchemy import inspect, select

from fastapi_password_reset import BackgroundWork
from fastapi_password_reset.contrib._manager_users import ManagerPasswordHasher
from fastapi_password_reset.contrib.fastapi_users import get_reset_password_router
from fastapi_password_reset.tokens import JWTResetTokenStrategy
from tests.contrib.driving import NEW_PASSWORD, PASSWORD, Driver, OpenDriver
from tests.contrib.example_app import SECRET, user_manager_dependency
from tests.contrib.test_guarantees import EMAIL, manager_class

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Account:
    id: uuid.UUID | int
    email: str
    hashed_password: str


async def test_a_signed_token_naming_an_id_of_the_other_kind_is_a_bad_token(
    open_driver: OpenDriver,
) -> None:
    """A token signed with the application's secret for an integer id reaches a UUID
    application (or the reverse: two applications sharing a secret, a Redis store shared):
    400, as fastapi-users answers, never a database type error."""
    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    table = driver.user_table
    async with driver.example.database.sessions() as session:
        stored = (await session.scalars(select(table))).one()
    other_id: uuid.UUID | int = 1 if driver.example.id_kind == "uuid" else uuid.uuid4()
    forger = JWTResetTokenStrategy()
    forger.bind(SECRET, 3600)
    token = await forger.issue_token(Account(other_id, EMAIL, stored.hashed_password))
    assert token is not None
    for path, body in [
        ("/auth/reset-password", {"token": token, "password": NEW_PASSWORD}),
        ("/auth/reset-password/validate", {"token": token}),
    ]:
        answer = await driver.client.post(path, json=body)
        assert (answer.status_code, answer.json()) == (400, {"detail": "RESET_PASSWORD_BAD_TOKEN"})
    assert await driver.password_works(EMAIL, PASSWORD)


async def test_hooks_write_the_user_through_their_manager(
    open_driver: OpenDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with fastapi-users' router, a hook may update the user it is given through its
    manager's database; the mail hook's user is still in a live session."""
    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    cls = manager_class(driver)
    attached: list[bool] = []

    async def mark_verified(self: Any, user: Any, token: str, request: Any = None) -> None:
        attached.append(inspect(user).session is not None)
        await self.user_db.update(user, {"is_verified": True})
        self.hooks.record("on_after_forgot_password", user, token)

    async def mark_superuser(self: Any, user: Any, request: Any = None) -> None:
        await self.user_db.update(user, {"is_superuser": True})

    monkeypatch.setattr(cls, "on_after_forgot_password", mark_verified)
    monkeypatch.setattr(cls, "on_after_reset_password", mark_superuser)
    token = await driver.reset_token(EMAIL)
    assert (await driver.reset(token)).status_code == 200
    assert attached == [True]
    table = driver.user_table
    async with driver.example.database.sessions() as session:
        user = (await session.scalars(select(table))).one()
    assert (user.is_verified, user.is_superuser) == (True, True)
    assert await driver.password_works(EMAIL, NEW_PASSWORD)


async def test_the_jobs_manager_reads_path_and_query_parameters(open_driver: OpenDriver) -> None:
    """A get_user_manager chain that reads a path parameter of the router's prefix and a
    query parameter gets them in the after-answer work too."""
    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    example = driver.example
    inner = user_manager_dependency(
        example.database, driver.user_table, manager_class(driver), example.hooks, None
    )
    seen: list[tuple[str, str]] = []

    # Defaults, not Annotated: with postponed annotations FastAPI could not resolve a local
    # `inner` inside a string annotation.
    async def tenant_manager(
        tenant: str,
        region: str = Query(),
        manager: Any = Depends(inner),  # noqa: B008
    ) -> AsyncIterator[Any]:
        seen.append((tenant, region))
        yield manager

    work = BackgroundWork()
    app = FastAPI()
    app.include_router(
        get_reset_password_router(tenant_manager, background=work), prefix="/t/{tenant}/auth"
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.post(
            "/t/acme/auth/forgot-password", params={"region": "eu"}, json={"email": EMAIL}
        )
        await work.drain()
    assert answer.status_code == 202
    assert seen == [("acme", "eu")]
    assert example.hooks.token_for("on_after_forgot_password", EMAIL)


class LengthCheckingBcrypt(BcryptHasher):
    """bcrypt as its releases from 5.0 behave whatever the installed one: a password over 72
    bytes raises ValueError (earlier releases cut it short without a word). What is tested is
    the adapter's answer to a hasher that refuses a password, not bcrypt's own rule."""

    def hash(self, password: str | bytes, *args: Any, **kwargs: Any) -> str:
        raw = password.encode() if isinstance(password, str) else password
        if len(raw) > 72:
            raise ValueError("password cannot be longer than 72 bytes")
        return str(super().hash(password, *args, **kwargs))


@pytest.fixture
def bcrypt_helper() -> PasswordHelper:
    return PasswordHelper(PasswordHash((LengthCheckingBcrypt(rounds=4),)))


async def test_a_password_the_hasher_cannot_take_is_refused_not_a_500(
    open_driver: OpenDriver, monkeypatch: pytest.MonkeyPatch, bcrypt_helper: PasswordHelper
) -> None:
    """bcrypt takes 72 bytes at most: a longer password is a 400 that leaves the token
    usable (fastapi-users' router answers 500)."""
    driver: Driver = await open_driver("swapped")
    cls = manager_class(driver)
    original_init = cls.__init__

    def bcrypt_init(self: Any, *args: Any) -> None:
        original_init(self, *args)
        self.password_helper = bcrypt_helper

    monkeypatch.setattr(cls, "__init__", bcrypt_init)
    await driver.register(EMAIL)
    token = await driver.reset_token(EMAIL)
    refused = await driver.reset(token, "x" * 100)
    assert refused.status_code == 400
    assert refused.json()["detail"]["code"] == "RESET_PASSWORD_INVALID_PASSWORD"
    assert (await driver.reset(token)).status_code == 200
    assert await driver.password_works(EMAIL, NEW_PASSWORD)


async def test_the_hasher_refusal_is_fastapi_users_own(bcrypt_helper: PasswordHelper) -> None:
    class Manager:
        password_helper = bcrypt_helper

    hasher = ManagerPasswordHasher(Manager())  # type: ignore[arg-type]
    with pytest.raises(InvalidPasswordException):
        await hasher.hash("x" * 73)
    assert (await hasher.hash("x" * 72)).startswith("$2b$")


async def test_one_router_has_one_secret(
    open_driver: OpenDriver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A manager whose secret differs from the one the router was bound to (a secret per
    tenant) is refused loudly, as docs/fastapi-users.md says: one router per secret."""
    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    token = await driver.reset_token(EMAIL)  # binds the router to the manager's secret
    monkeypatch.setattr(manager_class(driver), "reset_password_token_secret", "t" * 40)
    assert (await driver.reset(token)).status_code == 500
    assert "StrategyAlreadyBoundError" in caplog.text
    assert await driver.password_works(EMAIL, PASSWORD)
