"""Where the swapped router answers otherwise than fastapi-users 15's, each asserted on its own.

Every test states both answers, so that a change on either side shows here by name.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.contrib.compat_cases import ALICE, FORGOT, MB, RESET, Token, address_of
from tests.contrib.compat_runner import RENAMED, ComparedApp, OpenPair, make_token
from tests.contrib.driving import NEW_PASSWORD, OpenDriver

pytestmark = pytest.mark.anyio

VALIDATE = "/auth/reset-password/validate"
BAD_TOKEN = {"detail": "RESET_PASSWORD_BAD_TOKEN"}


async def post_with_token(app: ComparedApp, body: dict[str, Any]) -> int:
    """POST /reset-password with ``body``, a `Token` value replaced by the app's own token."""
    sent = {
        key: await make_token(app, value) if isinstance(value, Token) else value
        for key, value in body.items()
    }
    # json.dumps escapes non-ASCII (httpx's json= would fail on a lone surrogate).
    response = await app.driver.client.post(
        RESET, content=json.dumps(sent).encode(), headers={"Content-Type": "application/json"}
    )
    await app.driver.example.settle()
    return response.status_code


# Stock accepts and hashes any password, an empty one or one of a megabyte, and reads any
# token; the swapped router refuses them before any work (README: the length limits).
LIMITS: dict[str, tuple[dict[str, Any], int]] = {
    "password of 1025 characters": ({"token": Token.VALID, "password": "p" * 1025}, 200),
    "empty password": ({"token": Token.VALID, "password": ""}, 200),
    "token of 1025 characters": ({"token": "t" * 1025, "password": "long enough"}, 400),
}


@pytest.mark.parametrize("case", list(LIMITS))
async def test_over_a_length_limit_stock_proceeds_and_ours_says_422(
    open_pair: OpenPair, case: str
) -> None:
    """Documented difference: stock resets (or says bad token), ours answers 422."""
    stock, swapped = await open_pair(policy=False)
    body, stock_status = LIMITS[case]
    assert await post_with_token(stock, body) == stock_status
    assert await post_with_token(swapped, body) == 422
    assert await swapped.driver.password_works(ALICE, "correct horse battery staple")


async def test_an_address_over_320_characters_is_a_422_for_both(open_pair: OpenPair) -> None:
    """Not a difference: stock's e-mail validation (254 at most) already refuses it."""
    for app in await open_pair():
        response = await app.driver.client.post(FORGOT, json={"email": address_of(321)})
        assert response.status_code == 422


async def test_a_megabyte_body_is_refused_unread_by_ours(open_pair: OpenPair) -> None:
    """Stock reads a 1 MB token and says bad token (400); ours stops at its body limit (413)."""
    stock, swapped = await open_pair()
    body = {"token": "t" * MB, "password": "long enough"}
    stock_answer = await stock.driver.client.post(RESET, json=body)
    assert (stock_answer.status_code, stock_answer.json()) == (400, BAD_TOKEN)
    assert (await swapped.driver.client.post(RESET, json=body)).status_code == 413


async def test_a_password_no_hasher_can_encode_is_a_422_not_a_500(open_pair: OpenPair) -> None:
    """JSON can carry a lone surrogate; argon2 cannot encode it. Stock fails (500); ours 422."""
    stock, swapped = await open_pair()
    body = {"token": Token.VALID, "password": "abc\ud800defgh"}
    assert await post_with_token(stock, body) == 500
    assert await post_with_token(swapped, body) == 422


async def test_an_e_mail_change_kills_our_tokens_not_stocks(open_pair: OpenPair) -> None:
    """Stock binds a token to the password hash only; ours to the address too."""
    stock, swapped = await open_pair()
    body = {"token": Token.AFTER_EMAIL_CHANGE, "password": NEW_PASSWORD}
    assert await post_with_token(stock, body) == 200
    assert await stock.driver.password_works(RENAMED, NEW_PASSWORD)
    assert await post_with_token(swapped, body) == 400
    assert not await swapped.driver.password_works(RENAMED, NEW_PASSWORD)


async def test_ours_mails_one_token_a_minute_stock_one_a_request(open_pair: OpenPair) -> None:
    """min_interval_seconds=60 by default: a second request within it is answered alike
    (202) but mails nothing."""
    for app, mails in zip(await open_pair(), (2, 1), strict=True):
        for _ in range(2):
            assert (await app.driver.forgot(ALICE)).status_code == 202
        assert len(app.driver.example.hooks.named("on_after_forgot_password")) == mails


async def test_ours_looks_the_address_up_after_answering(open_pair: OpenPair) -> None:
    """Stock mails before its 202; ours answers first and mails after (timing-safe)."""
    for app, mailed_by_the_answer in zip(await open_pair(), (1, 0), strict=True):
        hooks = app.driver.example.hooks
        response = await app.driver.client.post(FORGOT, json={"email": ALICE})
        assert response.status_code == 202
        assert len(hooks.named("on_after_forgot_password")) == mailed_by_the_answer
        await app.driver.example.settle()
        assert len(hooks.named("on_after_forgot_password")) == 1


async def test_only_ours_has_the_validate_route(open_pair: OpenPair) -> None:
    """POST /reset-password/validate: 404 on stock; ours says 200 or 400 and uses nothing up."""
    stock, swapped = await open_pair()
    assert (await stock.driver.client.post(VALIDATE, json={"token": "x"})).status_code == 404

    token = await make_token(swapped, Token.VALID)
    for _ in range(2):
        checked = await swapped.driver.client.post(VALIDATE, json={"token": token})
        assert (checked.status_code, checked.json()) == (200, None)
    refused = await swapped.driver.client.post(VALIDATE, json={"token": "garbage"})
    assert (refused.status_code, refused.json()) == (400, BAD_TOKEN)
    assert (await swapped.driver.reset(token)).status_code == 200


async def test_a_token_mailed_before_the_swap_is_a_bad_token_after_it(
    open_driver: OpenDriver,
) -> None:
    """Tokens of the stock router do not carry over: after the swap they get 400, not 500."""
    stock = await open_driver("stock")
    await stock.register(ALICE)
    token = await stock.reset_token(ALICE)

    swapped = await open_driver("swapped", database_url=stock.example.database.url)
    answer = await swapped.reset(token)
    assert (answer.status_code, answer.json()) == (400, BAD_TOKEN)
    assert (await swapped.reset(await swapped.reset_token(ALICE))).status_code == 200
