"""Nobody but the mailbox owner can block a reset by code.

An attacker who knows only the victim's address asks for a code for it, spends the code's
tries with wrong guesses, and asks again as soon as the throttle lets through, round after
round. Whatever arrives in the victim's inbox must still complete a reset: every code mail
carries a link token beside the code, which wrong guesses cannot use up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from fastapi_password_reset.tokens import RedisResetCodeStrategy
from fastapi_password_reset.tokens.redis_codes import ResetCode
from tests.conftest import NEW_PASSWORD, Harness, make_redis_client, open_harness, unique_prefix

pytestmark = pytest.mark.anyio

INTERVAL = 1.0  # the router's throttle, short so that the test runs several rounds
ATTEMPTS = 5
VICTIM = "victim@example.com"


@pytest.fixture(params=["fakeredis", "redis", "redis-cluster"])
async def codes(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    client = make_redis_client(request.param, request)
    strategy = RedisResetCodeStrategy(client, key_prefix=unique_prefix(), max_attempts=ATTEMPTS)
    async with open_harness(strategy, min_interval_seconds=INTERVAL) as harness:
        yield harness
    await client.aclose()


async def validate(harness: Harness, token: str) -> int:
    body = {"email": VICTIM, "token": token}
    return (await harness.client.post("/auth/reset-password/validate", json=body)).status_code


async def newest_mail(harness: Harness) -> ResetCode:
    await harness.users.background.drain()
    token = harness.outbox.forgot[-1][1]
    assert isinstance(token, ResetCode)
    return token


async def test_an_attacker_burning_every_code_cannot_keep_the_victim_from_resetting(
    codes: Harness,
) -> None:
    """Three rounds of: the attacker asks, burns the code, the victim asks (throttled). After
    each, the newest mail's code is dead but its link works; the victim resets with it."""
    await codes.add_user(VICTIM)
    for round_number in range(3):
        assert (await codes.forgot(VICTIM)).status_code == 202  # the attacker asks
        mailed = await newest_mail(codes)
        strategy = codes.strategy
        assert isinstance(strategy, RedisResetCodeStrategy)
        for _ in range(ATTEMPTS):  # ... and spends every try
            wrong = strategy.new_code()
            assert wrong != mailed
            assert await validate(codes, wrong) == 400
        assert (await codes.forgot(VICTIM)).status_code == 202  # the victim asks: throttled
        newest = await newest_mail(codes)
        assert newest == mailed, "the victim's own request came within the interval"
        assert await validate(codes, newest) == 400, "the code was burned"
        assert await validate(codes, newest.link_token) == 200, f"round {round_number}"
        await anyio.sleep(INTERVAL)
    body = {"email": VICTIM, "token": newest.link_token, "password": NEW_PASSWORD}
    assert (await codes.client.post("/auth/reset-password", json=body)).status_code == 200
    assert await codes.password_works(VICTIM, NEW_PASSWORD)
    assert (await codes.client.post("/auth/reset-password", json=body)).status_code == 400


async def test_a_code_mails_link_works_only_for_its_own_address(codes: Harness) -> None:
    """The link token of Alice's code mail, sent with another address (known or not): 400,
    the same answer as a wrong code, and it is still Alice's afterwards."""
    await codes.add_user(VICTIM)
    await codes.add_user("mallory@example.com")
    await codes.forgot(VICTIM)
    link = (await newest_mail(codes)).link_token
    for email in ["mallory@example.com", "nobody@example.com"]:
        body = {"email": email, "token": link, "password": NEW_PASSWORD}
        answer = await codes.client.post("/auth/reset-password", json=body)
        assert (answer.status_code, answer.json()) == (400, {"detail": "RESET_PASSWORD_BAD_TOKEN"})
    assert await validate(codes, link) == 200


async def test_the_code_and_its_link_are_one_reset(codes: Harness) -> None:
    """A reset with the code kills the link mailed with it, and the other way round."""
    await codes.add_user(VICTIM)
    for used in ["code", "link"]:
        await anyio.sleep(INTERVAL)
        await codes.forgot(VICTIM)
        mailed = await newest_mail(codes)
        first, other = (str(mailed), mailed.link_token)[:: 1 if used == "code" else -1]
        body = {"email": VICTIM, "token": first, "password": f"{NEW_PASSWORD} {used}"}
        assert (await codes.client.post("/auth/reset-password", json=body)).status_code == 200
        assert await validate(codes, other) == 400, used
