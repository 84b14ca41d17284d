"""The documented fastapi-users application keeps working when its reset router is swapped.

Each test runs on SQLite and PostgreSQL, with UUID and integer ids, and with the stock
router too: a failure on "stock" is a fault of the fixture, not of the library.
"""

from __future__ import annotations

import pytest

from tests.contrib.driving import NEW_PASSWORD, PASSWORD, Driver, OpenDriver
from tests.contrib.example_app import RouterKind

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("reset_router", ["stock", "swapped"])]

ALICE = "alice@example.com"


async def test_register_login_and_the_authenticated_route(
    open_driver: OpenDriver, reset_router: RouterKind
) -> None:
    """Register (201, on_after_register), log in with the form, call /authenticated-route."""
    driver: Driver = await open_driver(reset_router)
    registered = await driver.register(ALICE)
    assert registered["email"] == ALICE
    assert registered["is_active"] is True and registered["is_verified"] is False
    assert [call.email for call in driver.example.hooks.named("on_after_register")] == [ALICE]

    headers = await driver.bearer(ALICE)
    response = await driver.client.get("/authenticated-route", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"message": f"Hello {ALICE}!"}
    assert (await driver.client.get("/authenticated-route")).status_code == 401


async def test_users_me_reads_and_updates_the_account(
    open_driver: OpenDriver, reset_router: RouterKind
) -> None:
    """GET and PATCH /users/me, including a password change that login then honours."""
    driver = await open_driver(reset_router)
    registered = await driver.register(ALICE)
    headers = await driver.bearer(ALICE)

    me = await driver.client.get("/users/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == registered

    patched = await driver.client.patch(
        "/users/me", headers=headers, json={"password": NEW_PASSWORD, "is_superuser": True}
    )
    assert patched.status_code == 200, patched.text
    # /users/me is "safe": a user cannot make themselves a superuser.
    assert patched.json()["is_superuser"] is False
    assert await driver.password_works(ALICE, NEW_PASSWORD)
    assert not await driver.password_works(ALICE, PASSWORD)


async def test_verification_request_and_verify(
    open_driver: OpenDriver, reset_router: RouterKind
) -> None:
    """request-verify-token mails a token (on_after_request_verify) that /auth/verify accepts."""
    driver = await open_driver(reset_router)
    await driver.register(ALICE)
    response = await driver.client.post("/auth/request-verify-token", json={"email": ALICE})
    assert response.status_code == 202
    token = driver.example.hooks.token_for("on_after_request_verify", ALICE)

    verified = await driver.client.post("/auth/verify", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json()["is_verified"] is True
    again = await driver.client.post("/auth/verify", json={"token": token})
    assert again.json() == {"detail": "VERIFY_USER_ALREADY_VERIFIED"}


async def test_a_full_password_reset_through_the_example(
    open_driver: OpenDriver, reset_router: RouterKind
) -> None:
    """forgot -> on_after_forgot_password(token) -> reset -> on_after_reset_password -> login."""
    driver = await open_driver(reset_router)
    await driver.register(ALICE)
    user_id = await driver.user_id(ALICE)

    token = await driver.reset_token(ALICE)
    response = await driver.reset(token)
    assert (response.status_code, response.json()) == (200, None)

    hooks = driver.example.hooks
    assert [(call.user_id, call.email) for call in hooks.named("on_after_reset_password")] == [
        (user_id, ALICE)
    ]
    assert hooks.named("on_after_forgot_password")[-1].user_id == user_id
    assert await driver.password_works(ALICE, NEW_PASSWORD)
    assert not await driver.password_works(ALICE, PASSWORD)
    # Single use, in both routers: the password hash the token was bound to has changed.
    assert (await driver.reset(token, "yet another passphrase")).status_code == 400


async def test_the_account_works_after_a_reset(
    open_driver: OpenDriver, reset_router: RouterKind
) -> None:
    """After a reset, the new login reaches /users/me and /authenticated-route."""
    driver = await open_driver(reset_router)
    await driver.register(ALICE)
    assert (await driver.reset(await driver.reset_token(ALICE))).status_code == 200

    headers = await driver.bearer(ALICE, NEW_PASSWORD)
    assert (await driver.client.get("/users/me", headers=headers)).json()["email"] == ALICE
    route = await driver.client.get("/authenticated-route", headers=headers)
    assert route.json() == {"message": f"Hello {ALICE}!"}
