"""Short reset codes: bound to the account, few tries, uniform, through the same routes."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from fastapi_password_reset.tokens import RedisResetCodeStrategy
from fastapi_password_reset.tokens.redis_codes import CROCKFORD, DIGITS, UNAMBIGUOUS
from tests.conftest import (
    NEW_PASSWORD,
    PASSWORD,
    SECRET,
    Harness,
    make_redis_client,
    open_harness,
    unique_prefix,
)

pytestmark = pytest.mark.anyio

BAD_TOKEN = {"detail": "RESET_PASSWORD_BAD_TOKEN"}
CODE_STORES = ["fakeredis", "redis", "redis-cluster"]


@pytest.fixture(params=CODE_STORES)
async def codes(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """The test application with a code strategy, on each kind of Redis."""
    client = make_redis_client(request.param, request)
    strategy = RedisResetCodeStrategy(client, key_prefix=unique_prefix(), max_attempts=5)
    async with open_harness(strategy) as harness:
        yield harness
    await client.aclose()


async def reset_with(harness: Harness, email: str, code: str, password: str = NEW_PASSWORD) -> Any:
    body = {"email": email, "token": code, "password": password}
    answer = await harness.client.post("/auth/reset-password", json=body)
    await harness.users.background.drain()
    return answer


async def test_the_hook_gets_a_short_code_that_resets_the_password(codes: Harness) -> None:
    """Twelve Crockford Base32 characters by default; with the address it was sent to, it
    resets once."""
    user = await codes.add_user()
    code = await codes.token_for()
    assert len(code) == 12 and set(code) <= set(CROCKFORD)
    assert (await reset_with(codes, user.email, code)).status_code == 200
    assert await codes.password_works(user.email, NEW_PASSWORD)
    assert (await reset_with(codes, user.email, code, "again a passphrase")).json() == BAD_TOKEN


async def test_a_code_is_worth_nothing_for_another_address(codes: Harness) -> None:
    """Alice's code with Bob's address, or with an unknown one: the same 400, nothing changed."""
    alice = await codes.add_user("alice@example.com")
    await codes.add_user("bob@example.com")
    code = await codes.token_for("alice@example.com")
    for email in ("bob@example.com", "nobody@example.com"):
        answer = await reset_with(codes, email, code)
        assert (answer.status_code, answer.json()) == (400, BAD_TOKEN)
    assert await codes.password_works("bob@example.com", PASSWORD)
    assert (await reset_with(codes, alice.email, code)).status_code == 200


@pytest.mark.parametrize("route", ["/auth/reset-password", "/auth/reset-password/validate"])
async def test_a_code_without_its_address_is_a_422(codes: Harness, route: str) -> None:
    """The e-mail is part of a code's body: missing, it is a malformed request."""
    await codes.add_user()
    code = await codes.token_for()
    answer = await codes.client.post(route, json={"token": code, "password": NEW_PASSWORD})
    assert answer.status_code == 422
    assert code not in answer.text
    assert (await reset_with(codes, "alice@example.com", code)).status_code == 200


async def test_a_thousand_concurrent_wrong_guesses_get_only_five_counted(codes: Harness) -> None:
    """At most max_attempts wrong tries are counted; after them even the right code fails."""
    user = await codes.add_user()
    code = await codes.token_for()
    strategy = codes.strategy
    assert isinstance(strategy, RedisResetCodeStrategy)
    wrong = [guess for guess in (strategy.new_code() for _ in range(1001)) if guess != code][:1000]
    results = await asyncio.gather(
        *(strategy.read_token(guess, user_id=user.id) for guess in wrong)
    )
    assert results == [None] * 1000
    answer = await reset_with(codes, user.email, code)
    assert (answer.status_code, answer.json()) == (400, BAD_TOKEN)
    assert await codes.password_works(user.email, PASSWORD)


async def test_wrong_tries_below_the_limit_leave_the_code_usable(codes: Harness) -> None:
    """Four wrong tries of five, through validate and reset: the right code still works."""
    user = await codes.add_user()
    code = await codes.token_for()
    assert isinstance(codes.strategy, RedisResetCodeStrategy)
    wrong = next(guess for guess in iter(codes.strategy.new_code, None) if guess != code)
    for route in ["/auth/reset-password/validate", "/auth/reset-password/validate"]:
        answer = await codes.client.post(route, json={"email": user.email, "token": wrong})
        assert answer.json() == BAD_TOKEN
    for _ in range(2):
        assert (await reset_with(codes, user.email, wrong)).json() == BAD_TOKEN
    assert (await reset_with(codes, user.email, code)).status_code == 200


async def test_a_new_code_replaces_the_old_one(codes: Harness) -> None:
    """One live code per user: asking again kills the earlier code."""
    user = await codes.add_user()
    first = await codes.token_for()
    second = await codes.token_for()
    if first != second:
        assert (await reset_with(codes, user.email, first)).json() == BAD_TOKEN
    assert (await reset_with(codes, user.email, second)).status_code == 200


async def test_revoking_a_users_code(codes: Harness) -> None:
    """revoke_user_tokens removes the code; a code names no user, so revoke_token refuses."""
    user = await codes.add_user()
    code = await codes.token_for()
    strategy = codes.strategy
    assert isinstance(strategy, RedisResetCodeStrategy)
    with pytest.raises(TypeError, match="revoke_user_tokens"):
        await strategy.revoke_token(code)
    assert await strategy.revoke_user_tokens(user.id) == 1
    assert (await reset_with(codes, user.email, code)).json() == BAD_TOKEN


def chi_square_critical(degrees: int, z: float = 4.753) -> float:
    """Wilson-Hilferty: the chi-square value exceeded with probability about 1e-6 (z=4.753)."""
    h = 2 / (9 * degrees)
    return degrees * (1 - h + z * math.sqrt(h)) ** 3


@pytest.mark.parametrize(
    "alphabet", [DIGITS, UNAMBIGUOUS, CROCKFORD], ids=["digits", "unambiguous", "crockford"]
)
def test_codes_are_uniform_over_their_alphabet(alphabet: str) -> None:
    """10,000 codes: each character's count fits a uniform draw (chi-square, p > 1e-6),
    per position and over all positions."""
    import fakeredis

    strategy = RedisResetCodeStrategy(fakeredis.FakeAsyncRedis(), alphabet=alphabet, code_length=8)
    strategy.bind(SECRET, 600)
    codes = [strategy.new_code() for _ in range(10_000)]
    assert {len(code) for code in codes} == {8}
    columns = [Counter(code[i] for code in codes) for i in range(8)]
    columns.append(Counter("".join(codes)))
    for counts in columns:
        assert set(counts) <= set(alphabet)
        total = sum(counts.values())
        expected = total / len(alphabet)
        statistic = sum((counts[c] - expected) ** 2 / expected for c in alphabet)
        assert statistic < chi_square_critical(len(alphabet) - 1), counts


async def test_unambiguous_codes_are_read_in_any_case() -> None:
    """A code of the look-alike-free alphabet works typed in lower case, split by a dash."""
    import fakeredis

    from tests.conftest import UserDB

    assert not set("01258BILOSZ") & set(UNAMBIGUOUS)
    strategy = RedisResetCodeStrategy(fakeredis.FakeAsyncRedis(), alphabet=UNAMBIGUOUS)
    strategy.bind(SECRET, 600)
    user = UserDB(email="alice@example.com", hashed_password="$argon2id$v=19$m=8,t=1,p=1$x")
    code = await strategy.issue_token(user)
    assert code is not None and set(code) <= set(UNAMBIGUOUS)
    typed = f" {code[:4].lower()}-{code[4:].lower()} "
    ticket = await strategy.read_token(typed, user_id=user.id)
    assert ticket is not None and strategy.is_current(ticket, user)


@pytest.mark.parametrize(
    "options",
    [{"code_length": 5}, {"max_attempts": 0}, {"alphabet": "0123"}, {"alphabet": "00123456789"}],
)
def test_weak_settings_are_refused(options: dict[str, Any]) -> None:
    """Too short, no tries, too few or repeated characters: refused at construction."""
    import fakeredis

    with pytest.raises(ValueError, match=r"code_length|max_attempts|alphabet"):
        RedisResetCodeStrategy(fakeredis.FakeAsyncRedis(), **options)


ODDS_TABLE = [  # alphabet, length, tries, interval: as docs/codes.md's table lists them
    (CROCKFORD, 12, 5, 60),
    (CROCKFORD, 10, 5, 60),
    (UNAMBIGUOUS, 12, 5, 60),
    (DIGITS, 8, 5, 60),
    (DIGITS, 8, 3, 300),
]


@pytest.mark.parametrize(("alphabet", "length", "tries", "interval"), ODDS_TABLE)
def test_the_documented_odds_follow_from_the_settings(
    alphabet: str, length: int, tries: int, interval: int
) -> None:
    """docs/codes.md's table is what `odds_per_day` computes, against ten million addresses
    and against one, for each row's settings."""
    import fakeredis

    from tests.doc_programs import ROOT

    strategy = RedisResetCodeStrategy(
        fakeredis.FakeAsyncRedis(), alphabet=alphabet, code_length=length, max_attempts=tries
    )
    at_scale = strategy.odds_per_day(min_interval_seconds=interval)
    one = strategy.odds_per_day(addresses=1, min_interval_seconds=interval)
    row = f"| {odds_text(at_scale)} | {odds_text(one)} |"
    assert row in (ROOT / "docs" / "codes.md").read_text(), row


def test_the_defaults_keep_ten_million_addresses_below_one_in_a_million_a_day() -> None:
    """The issue's bound: every guess the library allows, over 10^7 addresses, < 1e-6 a day."""
    import fakeredis

    assert RedisResetCodeStrategy(fakeredis.FakeAsyncRedis()).odds_per_day() < 1e-6


def odds_text(odds: float) -> str:
    """How the table writes a probability: ``6.2 × 10^-8``, or ``1`` for a certainty."""  # noqa: RUF002
    if odds > 0.995:
        return "1"
    mantissa, exponent = f"{odds:.1e}".split("e")
    return f"{mantissa} \u00d7 10^{int(exponent)}"  # the multiplication sign


def test_codes_without_a_throttle_are_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    """min_interval_seconds=0 gives fresh guesses at every request: a warning at start-up."""
    import fakeredis

    strategy = RedisResetCodeStrategy(fakeredis.FakeAsyncRedis())
    strategy.bind(SECRET, 600, min_interval_seconds=60)
    assert "without a mail throttle" not in caplog.text
    RedisResetCodeStrategy(fakeredis.FakeAsyncRedis()).bind(SECRET, 600, min_interval_seconds=0)
    assert "without a mail throttle (min_interval_seconds=0)" in caplog.text


async def test_every_wrong_code_is_an_event() -> None:
    """wrong_code for a wrong code and for an address without a code; none for a right one."""
    import fakeredis

    from fastapi_password_reset import Event, ResetEvent

    seen: list[ResetEvent] = []
    strategy = RedisResetCodeStrategy(fakeredis.FakeAsyncRedis(), key_prefix=unique_prefix())
    async with open_harness(strategy, on_event=seen.append) as codes:
        user = await codes.add_user()
        code = await codes.token_for()
        wrong = strategy.new_code()
        for email, token in [
            (user.email, wrong),
            ("nobody@example.com", wrong),
            (user.email, code),
        ]:
            body = {"email": email, "token": token}
            await codes.client.post("/auth/reset-password/validate", json=body)
    assert [(e.event, e.user_id) for e in seen if e.event is Event.WRONG_CODE] == [
        (Event.WRONG_CODE, user.id),
        (Event.WRONG_CODE, None),
    ]
    await strategy.redis.aclose()


async def test_a_users_code_is_counted(codes: Harness) -> None:
    """count_user_tokens sees the code (1), and nothing once it is revoked (0)."""
    user = await codes.add_user()
    await codes.token_for()
    strategy = codes.strategy
    assert isinstance(strategy, RedisResetCodeStrategy)
    assert await strategy.count_user_tokens(str(user.id)) == 1
    await strategy.revoke_user_tokens(user.id)
    assert await strategy.count_user_tokens(user.id) == 0
