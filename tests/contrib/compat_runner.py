"""Runs one request of `tests.contrib.compat_cases` on an application and describes what came
of it: the answer, and what changed behind it (mails, resets, passwords)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi_users.exceptions import InvalidPasswordException
from fastapi_users.jwt import generate_jwt
from fastapi_users.manager import RESET_PASSWORD_TOKEN_AUDIENCE

from tests.contrib.compat_cases import ALICE, CASE_PASSWORD, INACTIVE, Call, Token
from tests.contrib.driving import NEW_PASSWORD, PASSWORD, Driver
from tests.contrib.example_app import CHEAP_PASSWORDS, SECRET

ERIN = "erin@example.com"  # deactivated after her token is mailed
CAROL = "carol@example.com"  # deleted after her token is mailed
RENAMED = "alice.renamed@example.com"  # alice, after an e-mail change
LIFETIME_SECONDS = 3600  # BaseUserManager.reset_password_token_lifetime_seconds
OTHER_SECRET = "another-application-secret-of-32-bytes-or-more"


async def length_policy(password: str, user: Any) -> None:
    """The kind of ``validate_password`` fastapi-users documents."""
    if len(password) < 8:
        raise InvalidPasswordException(reason="Password should be at least 8 characters")


@dataclass
class Clock:
    """The swapped strategy's clock, so that it can mail a token in the past."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class ComparedApp:
    driver: Driver
    clock: Clock | None
    """The clock of the swapped router's strategy; None for stock."""


OpenCompared = Callable[..., Awaitable[ComparedApp]]
"""The ``open_compared`` fixture: ``await open_compared("stock" | "swapped", policy=True)``."""
OpenPair = Callable[..., Awaitable[list[ComparedApp]]]
"""The ``open_pair`` fixture: ``stock, swapped = await open_pair(policy=True)``."""


@dataclass(frozen=True)
class Outcome:
    """Everything a client or the application could observe of one request."""

    status: int
    body: Any
    mailed_to: list[str]
    reset_hooks_for: list[str]
    password_now_case_password_for: list[str]


async def prepare(app: ComparedApp) -> None:
    """The users every case starts with: alice, active, and one inactive user."""
    await app.driver.register(ALICE)
    await app.driver.register(INACTIVE)
    await app.driver.set_active(INACTIVE, False)


async def run(app: ComparedApp, call: Call) -> tuple[Outcome, dict[Token, str]]:
    """Make the call's tokens, send it, wait for the work after the answer; its outcome."""
    made = {kind: await make_token(app, kind) for kind in call.tokens}
    driver, hooks = app.driver, app.driver.example.hooks
    mails_before = len(hooks.named("on_after_forgot_password"))
    resets_before = len(hooks.named("on_after_reset_password"))
    response = await driver.client.request(
        call.method, call.path, content=call.content(made), headers=call.headers()
    )
    await driver.example.settle()
    try:
        body = comparable_body(response.status_code, response.json())
    except ValueError:
        body = response.text
    outcome = Outcome(
        status=response.status_code,
        body=body,
        mailed_to=[c.email for c in hooks.named("on_after_forgot_password")[mails_before:]],
        reset_hooks_for=[c.email for c in hooks.named("on_after_reset_password")[resets_before:]],
        password_now_case_password_for=[
            email
            for email in (ALICE, RENAMED, INACTIVE, ERIN, CAROL)
            if await has_password(driver, email, CASE_PASSWORD)
        ],
    )
    return outcome, made


def comparable_body(status: int, body: Any) -> Any:
    """The body, with a 422's errors cut to what a client reads: ``type``, ``loc``, ``msg``.

    ``input`` is left out on purpose: the swapped router does not echo submitted values.
    """
    if status == 422 and isinstance(body, dict) and isinstance(body.get("detail"), list):
        return {
            "detail": [
                {key: error.get(key) for key in ("type", "loc", "msg")} for error in body["detail"]
            ]
        }
    return body


async def has_password(driver: Driver, email: str, password: str) -> bool:
    stored = await driver.stored_hash(email)
    return stored is not None and CHEAP_PASSWORDS.verify_and_update(password, stored)[0]


async def make_token(app: ComparedApp, kind: Token) -> str:
    """A token of ``kind``, made through the application's own routes where one can be."""
    driver = app.driver
    if kind is Token.VALID:
        return await driver.reset_token(ALICE)
    if kind is Token.USED:
        token = await driver.reset_token(ALICE)
        assert (await driver.reset(token, NEW_PASSWORD)).status_code == 200
        return token
    if kind is Token.EXPIRED:
        return await expired_token(app)
    if kind is Token.INACTIVE_USER:
        await driver.register(ERIN)
        token = await driver.reset_token(ERIN)
        await driver.set_active(ERIN, False)
        return token
    if kind is Token.DELETED_USER:
        await driver.register(CAROL)
        token = await driver.reset_token(CAROL)
        await driver.delete_user(CAROL)
        return token
    if kind is Token.AFTER_PASSWORD_CHANGE:
        token = await driver.reset_token(ALICE)
        headers = await driver.bearer(ALICE, PASSWORD)
        changed = await driver.client.patch(
            "/users/me", headers=headers, json={"password": "changed by alice herself"}
        )
        assert changed.status_code == 200, changed.text
        return token
    if kind is Token.AFTER_EMAIL_CHANGE:
        token = await driver.reset_token(ALICE)
        headers = await driver.bearer(ALICE, PASSWORD)
        changed = await driver.client.patch("/users/me", headers=headers, json={"email": RENAMED})
        assert changed.status_code == 200, changed.text
        return token
    if kind is Token.ACCESS:
        return str((await driver.login(ALICE)).json()["access_token"])
    if kind is Token.VERIFY:
        await driver.client.post("/auth/request-verify-token", json={"email": ALICE})
        return driver.example.hooks.token_for("on_after_request_verify", ALICE)
    claims = {
        "sub": await driver.user_id(ALICE),
        "aud": RESET_PASSWORD_TOKEN_AUDIENCE,
        "exp": int(time.time()) + LIFETIME_SECONDS,
        "password_fgpt": "anything",
    }
    if kind is Token.FOREIGN_SECRET:
        return jwt.encode(claims, OTHER_SECRET, algorithm="HS256")
    assert kind is Token.ALG_NONE, kind
    return jwt.encode(claims, "", algorithm="none")


async def expired_token(app: ComparedApp) -> str:
    """A token for alice that is good in every way but its expiry."""
    driver = app.driver
    if app.clock is None:
        # The stock manager has no clock to turn back: build what its forgot_password would
        # have mailed two lifetimes ago (same claims, same fingerprint, `exp` in the past).
        stored = await driver.stored_hash(ALICE)
        assert stored is not None
        claims = {
            "sub": await driver.user_id(ALICE),
            "password_fgpt": CHEAP_PASSWORDS.hash(stored),
            "aud": RESET_PASSWORD_TOKEN_AUDIENCE,
        }
        return generate_jwt(claims, SECRET, -LIFETIME_SECONDS)
    app.clock.offset = -2 * LIFETIME_SECONDS
    try:
        return await driver.reset_token(ALICE)
    finally:
        app.clock.offset = 0.0
