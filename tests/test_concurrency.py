"""Forced interleavings: what happens meanwhile is kept, and no stale copy is written back."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from fastapi_password_reset import PasswordHelper
from fastapi_password_reset.db import InMemoryUserDatabase
from fastapi_password_reset.tokens import ResetTokenStrategy
from tests.conftest import NEW_PASSWORD, PASSWORD, Harness, UserDB, open_harness

pytestmark = pytest.mark.anyio

BAD_TOKEN = {"detail": "RESET_PASSWORD_BAD_TOKEN"}


class Gate:
    """A point a flow stops at until the test lets it through."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def wait(self) -> None:
        self.reached.set()
        await self.release.wait()


def blocking_policy(gate: Gate) -> Any:
    """A password policy that stops the reset after the token was read and the user loaded."""

    async def policy(password: str, user: Any) -> None:
        await gate.wait()

    return policy


async def paused_reset(harness: Harness, token: str, gate: Gate) -> asyncio.Task[Any]:
    """Start a reset and wait until it stops at the gate."""
    task = asyncio.ensure_future(harness.reset(token))
    await asyncio.wait_for(gate.reached.wait(), 5)
    return task


CHANGES: dict[str, dict[str, Any]] = {
    "deactivate": {"is_active": False},
    "verify": {"is_verified": True},
}


async def reset_while_changing(
    strategy: ResetTokenStrategy, user_db: Any, updates: dict[str, Any]
) -> tuple[httpx.Response, UserDB, UserDB, list[Any]]:
    """A reset held at the policy while the user is updated with ``updates``: the answer,
    the user before, the user as stored after, and the after-reset hook's users."""
    gate = Gate()
    policy = blocking_policy(gate)
    async with open_harness(strategy, user_db, validate_password=policy) as harness:
        user = await harness.add_user()
        token = await harness.token_for()
        reset = await paused_reset(harness, token, gate)
        current = await harness.user_db.get(user.id)
        assert current is not None
        await harness.user_db.update(current.model_copy(update=updates))
        gate.release.set()
        response = await reset
        await harness.users.background.drain()
        stored = await harness.user_db.get(user.id)
        assert stored is not None
        notified = [notified for notified, _ in harness.outbox.reset]
        if response.status_code == 200:
            verified, _ = await harness.users.password_helper.verify_and_update(
                NEW_PASSWORD, stored.hashed_password
            )
            assert verified
    return response, user, stored, notified


@pytest.mark.parametrize("change", list(CHANGES))
async def test_a_change_made_while_a_reset_hashes_is_kept(
    strategy: ResetTokenStrategy, user_db: Any, change: str
) -> None:
    """The reset writes only the hash: a deactivation or flag set meanwhile survives, and the
    after-reset hook gets the user as stored after the write."""
    updates = CHANGES[change]
    response, _, stored, notified = await reset_while_changing(strategy, user_db, updates)
    assert (response.status_code, response.content) == (200, b"null")
    for field, value in updates.items():
        assert getattr(stored, field) == value
    assert notified == [stored]


async def test_a_reset_whose_account_changed_address_meanwhile_is_refused(
    strategy: ResetTokenStrategy, user_db: Any
) -> None:
    """The link went to the old address: a reset that finds the address changed after it
    checked the token is refused, the password stays, no "password changed" notice is sent
    to either address, and the new address stays."""
    moved = {"email": "alice@moved.example"}
    response, user, stored, notified = await reset_while_changing(strategy, user_db, moved)
    assert (response.status_code, response.json()) == (400, {"detail": "RESET_PASSWORD_BAD_TOKEN"})
    assert (stored.email, stored.hashed_password) == ("alice@moved.example", user.hashed_password)
    assert notified == []


async def test_a_reset_racing_a_password_change_loses_and_changes_nothing(
    strategy: ResetTokenStrategy, user_db: Any
) -> None:
    """The hash changes while the reset hashes: 400, the other change stands, no hook."""
    gate = Gate()
    policy = blocking_policy(gate)
    async with open_harness(strategy, user_db, validate_password=policy) as harness:
        user = await harness.add_user()
        token = await harness.token_for()
        reset = await paused_reset(harness, token, gate)
        elsewhere = await harness.users.password_helper.hash("changed elsewhere meanwhile")
        assert await harness.user_db.replace_password_hash(user.id, user.hashed_password, elsewhere)
        gate.release.set()
        response = await reset
        assert (response.status_code, response.json()) == (
            400,
            {"detail": "RESET_PASSWORD_BAD_TOKEN"},
        )
        stored = await harness.user_db.get(user.id)
        assert stored is not None and stored.hashed_password == elsewhere
        assert harness.outbox.reset == []


class PausingPasswordHelper(PasswordHelper):
    """A helper whose next verification stops until released, as a slow log-in would."""

    def __init__(self) -> None:
        super().__init__(CHEAPEST)
        self.gate: Gate | None = None

    async def verify_and_update(
        self, password: str, hashed_password: str
    ) -> tuple[bool, str | None]:
        result = await super().verify_and_update(password, hashed_password)
        gate, self.gate = self.gate, None
        if gate is not None:
            await gate.wait()
        return result


async def test_a_login_rehash_racing_a_reset_never_undoes_it(
    strategy: ResetTokenStrategy, user_db: Any
) -> None:
    """A log-in upgrades an outdated hash after a reset finished: the reset stands."""
    helper = PausingPasswordHelper()
    async with open_harness(strategy, user_db, password_helper=helper) as harness:
        # Hashed under other parameters, so the next log-in upgrades it.
        outdated = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
        user = await harness.user_db.create(
            UserDB(email="alice@example.com", hashed_password=outdated)
        )
        token = await harness.token_for()
        gate = Gate()
        helper.gate = gate
        login = asyncio.ensure_future(harness.login(user.email, PASSWORD))
        await asyncio.wait_for(gate.reached.wait(), 5)
        assert (await harness.reset(token)).status_code == 200
        gate.release.set()
        answer = await login
        assert (answer.status_code, answer.json()) == (400, {"detail": "LOGIN_BAD_CREDENTIALS"})
        assert await harness.password_works(user.email, NEW_PASSWORD)
        assert not await harness.password_works(user.email, PASSWORD)
        assert (await harness.login(user.email, PASSWORD)).status_code == 400
        assert (await harness.login(user.email, NEW_PASSWORD)).status_code == 200


async def test_two_logins_upgrading_the_same_hash_both_succeed(user_db: Any) -> None:
    """The upgrade that loses the compare-and-set checks again and still logs in."""
    from fastapi_password_reset.tokens import JWTResetTokenStrategy

    helper = PausingPasswordHelper()
    async with open_harness(JWTResetTokenStrategy(), user_db, password_helper=helper) as harness:
        outdated = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
        user = await harness.user_db.create(
            UserDB(email="alice@example.com", hashed_password=outdated)
        )
        gate = Gate()
        helper.gate = gate
        first = asyncio.ensure_future(harness.login(user.email, PASSWORD))
        await asyncio.wait_for(gate.reached.wait(), 5)
        second = await harness.login(user.email, PASSWORD)
        gate.release.set()
        assert (await first).status_code == 200
        assert second.status_code == 200
        stored = await harness.user_db.get(user.id)
        assert stored is not None and stored.hashed_password != outdated


async def test_forgot_password_answers_while_the_lookup_is_blocked(
    strategy: ResetTokenStrategy,
) -> None:
    """The 202 comes back while the user lookup has not even finished."""
    lookups = Gate()

    class BlockingLookups(InMemoryUserDatabase[UserDB]):
        async def get_by_email(self, email: str) -> UserDB | None:
            await lookups.wait()
            return await super().get_by_email(email)

    async with open_harness(strategy, user_db=BlockingLookups(UserDB)) as harness:
        await harness.add_user()
        response = await asyncio.wait_for(
            harness.client.post("/auth/forgot-password", json={"email": "alice@example.com"}),
            5,
        )
        assert (response.status_code, response.content) == (202, b"null")
        await asyncio.wait_for(lookups.reached.wait(), 5)
        assert harness.outbox.forgot == []
        lookups.release.set()
        await harness.users.background.drain()
        assert len(harness.outbox.forgot) == 1


async def test_a_reset_link_dies_when_the_email_changes(strategy: ResetTokenStrategy) -> None:
    """A token issued before an e-mail change is refused after it, in every mode."""
    async with open_harness(strategy) as harness:
        user = await harness.add_user()
        token = await harness.token_for()
        current = await harness.user_db.get(user.id)
        assert current is not None
        await harness.user_db.update(current.model_copy(update={"email": "new@example.com"}))
        response = await harness.reset(token)
        assert (response.status_code, response.json()) == (
            400,
            {"detail": "RESET_PASSWORD_BAD_TOKEN"},
        )
        assert await harness.password_works("new@example.com", PASSWORD)


async def test_a_validate_password_http_exception_comes_back_as_raised(
    strategy: ResetTokenStrategy,
) -> None:
    """An application's HTTPException, even raised from another exception, is not a 422."""
    from fastapi import HTTPException

    async def policy(password: str, user: Any) -> None:
        try:
            raise LookupError("breached-password service says no")
        except LookupError as exc:
            raise HTTPException(409, {"code": "PASSWORD_BREACHED"}) from exc

    async with open_harness(strategy, validate_password=policy) as harness:
        await harness.add_user()
        token = await harness.token_for()
        response = await harness.reset(token)
        assert (response.status_code, response.json()) == (
            409,
            {"detail": {"code": "PASSWORD_BREACHED"}},
        )
        assert await harness.password_works("alice@example.com", PASSWORD)
        assert (await harness.reset(token)).status_code == 409


async def test_an_unexpected_policy_error_is_a_redacted_500(
    strategy: ResetTokenStrategy, log_records: pytest.LogCaptureFixture
) -> None:
    """A policy that crashes quoting the password: plain 500, logged without the password."""

    def policy(password: str, user: Any) -> None:
        raise RuntimeError(f"policy service crashed on {password!r}")

    async with open_harness(strategy, validate_password=policy) as harness:
        await harness.add_user()
        token = await harness.token_for()
        response = await harness.reset(token)
        assert (response.status_code, response.text) == (500, "Internal Server Error")
        assert await harness.password_works("alice@example.com", PASSWORD)
    text = "\n".join(record.getMessage() for record in log_records.records)
    assert "policy service crashed on [redacted]" in text
    assert NEW_PASSWORD not in text and token not in text and "$argon2" not in text
