"""The behaviour of the two reset routes, run against every token strategy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from fastapi_password_reset.db import InMemoryUserDatabase
from fastapi_password_reset.tokens import ResetTokenStrategy
from tests.conftest import (
    CODE_STORES,
    NEW_PASSWORD,
    PASSWORD,
    REDIS_STORES,
    Harness,
    UserDB,
    open_harness,
    strategy_of_kind,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["jwt", *REDIS_STORES, *CODE_STORES])
async def strategy(request: pytest.FixtureRequest) -> AsyncIterator[ResetTokenStrategy]:
    """Every strategy and store: JWT, link tokens and short codes on each kind of Redis."""
    async with strategy_of_kind(request.param, request) as made:
        yield made


BAD_TOKEN = {"detail": "RESET_PASSWORD_BAD_TOKEN"}


async def test_forgot_password_answers_202_null_for_a_known_user(harness: Harness) -> None:
    """A known, active user gets a mail and the caller gets 202 with body null."""
    user = await harness.add_user()
    response = await harness.forgot("alice@example.com")
    assert response.status_code == 202
    assert response.content == b"null"
    assert [(u.id, u.email) for u, _, _ in harness.outbox.forgot] == [(user.id, user.email)]


@pytest.mark.parametrize("email", ["nobody@example.com", "inactive@example.com"])
async def test_forgot_password_answers_the_same_without_a_mail(
    harness: Harness, email: str
) -> None:
    """Unknown and inactive users get the same 202 null, and no hook runs."""
    await harness.add_user("inactive@example.com", is_active=False)
    response = await harness.forgot(email)
    assert (response.status_code, response.content) == (202, b"null")
    assert harness.outbox.forgot == []


async def test_forgot_password_finds_the_user_whatever_the_case(harness: Harness) -> None:
    """E-mail lookup is case-insensitive."""
    await harness.add_user()
    await harness.forgot("ALICE@Example.COM")
    assert len(harness.outbox.forgot) == 1


async def test_hook_receives_the_user_the_token_and_the_request(harness: Harness) -> None:
    """after_forgot_password gets (user, token, request), as in the seed."""
    await harness.add_user()
    await harness.forgot("alice@example.com")
    user, token, request = harness.outbox.forgot[0]
    assert user.email == "alice@example.com"
    assert isinstance(token, str) and token
    assert request.url.path == "/auth/forgot-password"


async def test_reset_with_a_valid_token_changes_the_password(harness: Harness) -> None:
    """200 null; the new password works, the old one does not; the hook gets the user."""
    user = await harness.add_user()
    token = await harness.token_for()
    response = await harness.reset(token)
    assert (response.status_code, response.content) == (200, b"null")
    assert await harness.password_works(user.email, NEW_PASSWORD)
    assert not await harness.password_works(user.email, PASSWORD)
    [(hooked_user, request)] = harness.outbox.reset
    assert hooked_user.id == user.id
    assert request.url.path == "/auth/reset-password"


async def test_a_token_works_once(harness: Harness) -> None:
    """The second use of a token is BAD_TOKEN and changes nothing."""
    user = await harness.add_user()
    token = await harness.token_for()
    assert (await harness.reset(token)).status_code == 200
    second = await harness.reset(token, "yet another passphrase")
    assert (second.status_code, second.json()) == (400, BAD_TOKEN)
    assert await harness.password_works(user.email, NEW_PASSWORD)


async def test_a_reset_kills_the_users_other_tokens(harness: Harness) -> None:
    """Tokens issued before a successful reset are dead after it."""
    await harness.add_user()
    older = await harness.token_for()
    newer = await harness.token_for()
    assert (await harness.reset(newer)).status_code == 200
    assert (await harness.reset(older, "another passphrase")).json() == BAD_TOKEN


async def test_a_token_of_one_user_does_not_reset_another(harness: Harness) -> None:
    """A token names its user; another user's password is untouched."""
    await harness.add_user("alice@example.com")
    await harness.add_user("bob@example.com")
    token = await harness.token_for("alice@example.com")
    assert (await harness.reset(token)).status_code == 200
    assert await harness.password_works("bob@example.com", PASSWORD)
    assert await harness.password_works("alice@example.com", NEW_PASSWORD)


@pytest.mark.parametrize("change", ["deleted", "deactivated"])
async def test_a_token_of_a_deleted_or_deactivated_user_is_bad(
    harness: Harness, change: str
) -> None:
    """Unknown or inactive user behind a valid token: BAD_TOKEN."""
    user = await harness.add_user()
    token = await harness.token_for()
    if change == "deleted":
        await harness.user_db.delete(user)
    else:
        await harness.user_db.update(user.model_copy(update={"is_active": False}))
    response = await harness.reset(token)
    assert (response.status_code, response.json()) == (400, BAD_TOKEN)
    assert harness.outbox.reset == []


async def test_a_garbage_token_is_bad(harness: Harness) -> None:
    """A token that was never issued: BAD_TOKEN."""
    await harness.add_user()
    response = await harness.reset("not-a-token")
    assert (response.status_code, response.json()) == (400, BAD_TOKEN)


async def test_a_refused_password_keeps_the_token_usable(harness: Harness) -> None:
    """validate_password refusal: 400 with code and reason; the token still works after."""
    user = await harness.add_user()
    token = await harness.token_for()
    refused = await harness.reset(token, "short")
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": {
            "code": "RESET_PASSWORD_INVALID_PASSWORD",
            "reason": "Password should be at least 12 characters",
        }
    }
    assert await harness.password_works(user.email, PASSWORD)
    assert harness.outbox.reset == []
    assert (await harness.reset(token)).status_code == 200


async def test_the_policy_sees_the_user_being_reset(harness: Harness) -> None:
    """validate_password gets (password, user): a policy can refuse the user's own e-mail."""
    user = await harness.add_user()
    token = await harness.token_for()
    refused = await harness.reset(token, f"my address is {user.email}")
    assert refused.json()["detail"]["reason"] == "Password should not contain the e-mail address"


async def test_thirty_concurrent_resets_with_one_token_give_one_success(harness: Harness) -> None:
    """Exactly one of many concurrent resets with the same token succeeds."""
    user = await harness.add_user()
    token = await harness.token_for()
    responses = await asyncio.gather(
        *(harness.reset(token, f"concurrent passphrase {i}") for i in range(30))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [400] * 29
    winner = next(i for i, r in enumerate(responses) if r.status_code == 200)
    assert await harness.password_works(user.email, f"concurrent passphrase {winner}")
    assert len(harness.outbox.reset) == 1


class FlakyUpdates:
    """Wraps a user database so that the next password write fails, as a lost connection does."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fail_next_update = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def replace_password_hash(self, id: Any, old_hash: str, new_hash: str) -> bool:
        if self.fail_next_update:
            self.fail_next_update = False
            raise ConnectionError(f"lost the database while writing {old_hash} -> {new_hash}")
        return bool(await self.inner.replace_password_hash(id, old_hash, new_hash))


async def test_a_failed_store_gives_the_token_back(
    strategy: ResetTokenStrategy, log_records: pytest.LogCaptureFixture
) -> None:
    """500 NOT_SAVED, old password intact, the same token then works; the hash is not logged."""
    flaky = FlakyUpdates(InMemoryUserDatabase(UserDB))
    async with open_harness(strategy, user_db=flaky) as harness:
        user = await harness.add_user()
        hashed = user.hashed_password
        token = await harness.token_for()

        flaky.fail_next_update = True
        failed = await harness.reset(token)
        assert (failed.status_code, failed.json()) == (500, {"detail": "RESET_PASSWORD_NOT_SAVED"})
        stored = await flaky.get(user.id)
        assert stored is not None and stored.hashed_password == hashed
        assert harness.outbox.reset == []

        retried = await harness.reset(token)
        assert retried.status_code == 200

    text = "\n".join(r.getMessage() for r in log_records.records)
    assert f"storing the new password of user {user.id} failed" in text
    assert "ConnectionError" in text and "$argon2" not in text and token not in text


async def test_validate_tells_whether_a_token_would_work_and_uses_nothing_up(
    harness: Harness,
) -> None:
    """200 null while the token is good (as often as asked), 400 once used, 400 for garbage."""

    async def validate(token: str) -> tuple[int, Any]:
        answer = await harness.client.post(
            "/auth/reset-password/validate", json=harness.token_body(token)
        )
        return answer.status_code, answer.json()

    await harness.add_user()
    token = await harness.token_for()
    for _ in range(3):
        assert await validate(token) == (200, None)
    assert (await harness.reset(token)).status_code == 200
    assert await validate(token) == (400, BAD_TOKEN)
    assert await validate("not-a-token") == (400, BAD_TOKEN)
