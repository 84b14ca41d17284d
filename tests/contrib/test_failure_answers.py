"""The two failures stock answers with a bare 500, answered by ours with a code, and the token
kept: the token store unreachable (503) and the new password not stored (500)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import fakeredis
import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from fastapi_password_reset.tokens import RedisResetTokenStrategy
from tests.contrib.compat_cases import ALICE
from tests.contrib.driving import NEW_PASSWORD, PASSWORD, Driver, OpenDriver

pytestmark = pytest.mark.anyio


@contextmanager
def updates_fail(driver: Driver) -> Iterator[None]:
    """Every UPDATE on the application's database fails, as on a lost connection."""

    def refuse(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            raise OperationalError(statement, None, ConnectionResetError("connection lost"))

    engine = driver.example.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", refuse)


async def test_a_token_store_down_is_a_503_and_the_token_survives(
    open_driver: OpenDriver,
) -> None:
    """Redis unreachable: forgot still 202 (no mail), reset 503 with our code; back up, the
    same token works."""
    server = fakeredis.FakeServer()
    client = fakeredis.FakeAsyncRedis(server=server)
    driver = await open_driver("swapped", token_strategy=RedisResetTokenStrategy(client))
    await driver.register(ALICE)
    token = await driver.reset_token(ALICE)

    server.connected = False
    assert (await driver.forgot(ALICE)).status_code == 202
    down = await driver.reset(token)
    assert (down.status_code, down.json()) == (
        503,
        {"detail": "RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE"},
    )
    assert len(driver.example.hooks.named("on_after_forgot_password")) == 1
    assert driver.example.hooks.named("on_after_reset_password") == []

    server.connected = True
    assert (await driver.reset(token)).status_code == 200
    assert await driver.password_works(ALICE, NEW_PASSWORD)
    await client.aclose()


@pytest.mark.parametrize("reset_router", ["stock", "swapped"])
async def test_a_password_that_cannot_be_stored_keeps_the_token(
    open_driver: OpenDriver, reset_router: str
) -> None:
    """The UPDATE fails: stock answers a bare 500, ours 500 RESET_PASSWORD_NOT_SAVED; in both
    the password is unchanged and the same token works once the database is back."""
    driver = await open_driver(reset_router)
    await driver.register(ALICE)
    token = await driver.reset_token(ALICE)

    with updates_fail(driver):
        failed = await driver.reset(token)
    assert failed.status_code == 500
    if reset_router == "swapped":
        assert failed.json() == {"detail": "RESET_PASSWORD_NOT_SAVED"}
    else:
        assert failed.text == "Internal Server Error"
    assert driver.example.hooks.named("on_after_reset_password") == []
    assert await driver.password_works(ALICE, PASSWORD)

    assert (await driver.reset(token)).status_code == 200
    assert await driver.password_works(ALICE, NEW_PASSWORD)
