"""Integer user ids beside UUIDs: every strategy issues, reads, consumes and revokes for both.

A UUID's encodings (JWT subject, Redis tag, stored value, code digest) are pinned to what the
library wrote before it took ints, so tokens issued and stored before an upgrade keep working.
An int's encodings are pinned too, and can never be a UUID's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import fakeredis
import jwt
import pytest

from fastapi_password_reset import Event, EventRecorder, ResetEvent
from fastapi_password_reset.tokens import (
    JWTResetTokenStrategy,
    RedisResetCodeStrategy,
    RedisResetTokenStrategy,
    ResetTicket,
    ResetTokenStrategy,
    RevocationNotSupportedError,
    UserId,
)
from fastapi_password_reset.tokens._redis_keys import StoredToken
from fastapi_password_reset.tokens.redis_codes import DIGITS
from tests.conftest import NEW_PASSWORD, SECRET, open_harness, strategy_of_kind

pytestmark = pytest.mark.anyio

KINDS = [
    "jwt",
    "fakeredis",
    "redis",
    "redis-cluster",
    "codes-fakeredis",
    "codes-redis",
    "codes-redis-cluster",
]

NOW = 1_900_000_000.0
HASH = "$argon2id$v=19$m=8,t=1,p=1$old"
LARGEST, SMALLEST = 2**63 - 1, -(2**63)

# Computed with the library as it was before it took int ids (commit db8de49), for SECRET:
PINNED_UUID = uuid.UUID("0b6d6c3e-0d8e-4b8a-9a53-3d1f2b8c7e10")
PINNED_UUID_TAG = "zorUZz4NfzXEtIlDp3S-Eg"
PINNED_UUID_VALUE = "0b6d6c3e0d8e4b8a9a533d1f2b8c7e10:MezKnEsT_3skCH9us06WVg"
PINNED_UUID_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIwYjZkNmMzZS0wZDhlLTRiOGEtOWE1My0zZDFmMmI4YzdlMTAiLCJhdWQiOiJmYXN0YXBpLXVzZXJz"
    "OnJlc2V0IiwiZXhwIjoxOTAwMDAzNjAwLCJwZnAiOiJNZXpLbkVzVF8zc2tDSDl1czA2V1ZnIn0."
    "18JkjPs5QdhrTw_CS-6bQOYp8iWOHuyqPt4pMwvswtQ"
)
PINNED_UUID_CODE_DIGEST = "udBN85pkwy50Clqe_7kfMA"  # of the code 48213906
# A token stored by that library: its key (prefix "password-reset") and its text.
PINNED_OLD_TOKEN = f"{PINNED_UUID_TAG}." + "A" * 43
PINNED_OLD_TOKEN_KEY = f"password-reset:{{{PINNED_UUID_TAG}}}:t:fEDUlzwjGaYM2uwoVLgGbg"

# The int forms, as first released: tokens issued from now on must keep working too.
PINNED_INT_TAG = "7JVGG2DY4xKJU-foLlKnPg"  # of 42
PINNED_INT_VALUE = "i42:SpPjr7erRxltdHJyRLVGRA"
PINNED_INT_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiI0MiIsImF1ZCI6ImZhc3RhcGktdXNlcnM6cmVzZXQiLCJleHAiOjE5MDAwMDM2MDAsInBmcCI6IlNw"
    "UGpyN2VyUnhsdGRISnlSTFZHUkEifQ."
    "ghuzuULoLPb-kpDwxWzvnjXks0OEbWDYkC7WKT_lRgY"
)
PINNED_INT_CODE_DIGEST = "p0yUbs8VBnJ9JhveSC_A9Q"  # of the code 48213906


@dataclass(frozen=True)
class Account:
    """A user as a strategy sees one: an int id (IntegerIDMixin) or a UUID (UUIDIDMixin)."""

    id: UserId
    email: str = "carol@example.com"
    hashed_password: str = HASH


ALICE = Account(PINNED_UUID, "alice@example.com")
CAROL = Account(42)


def jwt_strategy() -> JWTResetTokenStrategy:
    strategy = JWTResetTokenStrategy(clock=lambda: NOW)
    strategy.bind(SECRET, 3600)
    return strategy


def redis_strategy(kind: type[RedisResetTokenStrategy] = RedisResetTokenStrategy) -> Any:
    """A strategy on a fresh fakeredis, with the default key prefix of the pinned keys (and
    for codes, the 8 digits the pinned codes were made with)."""
    client = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    if kind is RedisResetCodeStrategy:
        strategy: Any = RedisResetCodeStrategy(client, alphabet=DIGITS, code_length=8)
    else:
        strategy = kind(client)
    strategy.bind(SECRET, 600)
    return strategy


async def issued(strategy: ResetTokenStrategy, user: Account) -> str:
    token = await strategy.issue_token(user)
    assert token is not None
    return token


async def read(strategy: ResetTokenStrategy, token: str, user: Account) -> ResetTicket | None:
    """The ticket of the token, read as a reset for ``user`` reads it."""
    return await strategy.read_token(token, user_id=user.id if strategy.requires_email else None)


async def code_issued(strategy: RedisResetCodeStrategy, user: Account, code: str) -> str:
    """Issue ``code`` to the user; the code hash's stored digest and value, space-separated."""
    strategy.new_code = lambda: code  # type: ignore[method-assign]
    assert await strategy.issue_token(user) == code
    code_key = strategy.keys.user_prefix(strategy.keys.tag(user.id)) + "c"
    fields: list[Any] = await strategy.redis.hmget(code_key, ["d", "v"])
    return " ".join(field.decode() for field in fields)


# Every strategy, with int ids.


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("user_id", [42, 0, -7, LARGEST, SMALLEST])
async def test_an_int_id_gets_a_token_that_reads_consumes_and_revokes(
    kind: str, user_id: int, request: pytest.FixtureRequest
) -> None:
    """Issued, read back as that int (an int, not a UUID), consumed, revoked by int and text."""
    events: list[ResetEvent] = []
    async with strategy_of_kind(kind, request) as strategy:
        strategy.bind(SECRET, 600, events=EventRecorder(events.append))
        user = Account(user_id)
        ticket = await read(strategy, await issued(strategy, user), user)
        assert ticket is not None
        assert type(ticket.user_id) is int and ticket.user_id == user_id
        assert strategy.is_current(ticket, user)
        assert await strategy.consume_token(ticket)
        await strategy.password_changed(user)
        for given in (user_id, str(user_id)):
            token = await issued(strategy, user)
            if isinstance(strategy, JWTResetTokenStrategy):
                with pytest.raises(RevocationNotSupportedError):
                    await strategy.revoke_user_tokens(given)
                continue
            assert await strategy.revoke_user_tokens(given) == 1
            assert await read(strategy, token, user) is None
    if not isinstance(strategy, JWTResetTokenStrategy):
        revoked = [e.user_id for e in events if e.event is Event.TOKENS_REVOKED]
        assert revoked == [user_id] * 3  # the reset, the int, the text


@pytest.mark.parametrize("kind", KINDS)
async def test_an_int_and_a_uuid_user_never_get_each_others_tokens(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """42 and UUID(int=42), same address and hash: neither's token is current for the other,
    and revoking one leaves the other's token alive."""
    async with strategy_of_kind(kind, request) as strategy:
        strategy.bind(SECRET, 600)
        as_int, as_uuid = Account(42), Account(uuid.UUID(int=42))
        int_token, uuid_token = await issued(strategy, as_int), await issued(strategy, as_uuid)
        int_ticket = await read(strategy, int_token, as_int)
        uuid_ticket = await read(strategy, uuid_token, as_uuid)
        assert int_ticket is not None and uuid_ticket is not None
        assert not strategy.is_current(int_ticket, as_uuid)
        assert not strategy.is_current(uuid_ticket, as_int)
        if strategy.requires_email:  # a code is worth nothing for the other account
            assert await read(strategy, int_token, as_uuid) is None
            assert await read(strategy, uuid_token, as_int) is None
        if isinstance(strategy, JWTResetTokenStrategy):
            return
        assert await strategy.revoke_user_tokens(42) == 1
        assert await read(strategy, int_token, as_int) is None
        assert await read(strategy, uuid_token, as_uuid) is not None
        assert await strategy.revoke_user_tokens(uuid.UUID(int=42)) == 1


# A UUID's encodings are what they were before int ids.


def unverified_claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def test_a_uuid_users_jwt_is_byte_for_byte_what_it_was() -> None:
    """A token issued then still reads; a new one has the same claims plus ``user_id``, the
    subject again, as fastapi-users 5-7 named it."""
    strategy = jwt_strategy()
    token = await strategy.issue_token(ALICE)
    assert token is not None
    pinned = unverified_claims(PINNED_UUID_JWT)
    assert unverified_claims(token) == {**pinned, "user_id": str(PINNED_UUID)}
    for text in [token, PINNED_UUID_JWT]:
        ticket = await strategy.read_token(text)
        assert ticket is not None and type(ticket.user_id) is uuid.UUID
        assert ticket.user_id == PINNED_UUID and strategy.is_current(ticket, ALICE)


async def test_a_uuid_users_redis_tag_and_stored_value_are_what_they_were() -> None:
    """The tag (and so every key name) and the value stored for a token are unchanged."""
    strategy = redis_strategy()
    assert strategy.keys.tag(PINNED_UUID) == PINNED_UUID_TAG
    token = await issued(strategy, ALICE)
    assert token.startswith(PINNED_UUID_TAG + ".")
    live_key = strategy.keys.live(*strategy.keys.parse(token))
    assert (await strategy.redis.hget(live_key, "v")).decode() == PINNED_UUID_VALUE
    assert StoredToken(PINNED_UUID, PINNED_UUID_VALUE[-22:]).encode() == PINNED_UUID_VALUE


async def test_a_token_stored_before_int_ids_still_reads_consumes_and_revokes() -> None:
    """Redis as the earlier library left it: the token reads as its user and can be used."""
    strategy = redis_strategy()
    index = f"password-reset:{{{PINNED_UUID_TAG}}}:u"
    await strategy.redis.hset(PINNED_OLD_TOKEN_KEY, "v", PINNED_UUID_VALUE)
    await strategy.redis.pexpire(PINNED_OLD_TOKEN_KEY, 600_000)
    await strategy.redis.zadd(index, {PINNED_OLD_TOKEN_KEY.rsplit(":", 1)[1]: 2**40})
    await strategy.redis.pexpire(index, 600_000)
    assert await strategy.count_user_tokens(PINNED_UUID) == 1
    ticket = await strategy.read_token(PINNED_OLD_TOKEN)
    assert ticket is not None and ticket.user_id == PINNED_UUID
    assert strategy.is_current(ticket, ALICE)
    assert await strategy.consume_token(ticket)
    assert await strategy.revoke_user_tokens(str(PINNED_UUID)) == 1


async def test_a_uuid_users_code_digest_is_what_it_was() -> None:
    """The stored digest of a code (and its value) for a UUID user are unchanged."""
    strategy = redis_strategy(RedisResetCodeStrategy)
    stored = await code_issued(strategy, ALICE, "48213906")
    assert stored == f"{PINNED_UUID_CODE_DIGEST} {PINNED_UUID_VALUE}"
    assert await strategy.read_token("48213906", user_id=PINNED_UUID) is not None


# The int forms, pinned.


async def test_an_int_users_encodings_are_pinned() -> None:
    """JWT subject "42", tag under its own key, stored "i42:…", code digest of its own."""
    strategy = jwt_strategy()
    token = await strategy.issue_token(CAROL)
    assert token is not None
    assert unverified_claims(token) == {**unverified_claims(PINNED_INT_JWT), "user_id": "42"}
    assert unverified_claims(PINNED_INT_JWT)["sub"] == "42"
    for text in [token, PINNED_INT_JWT]:
        ticket = await strategy.read_token(text)
        assert ticket is not None and ticket.user_id == 42
    tokens = redis_strategy()
    assert tokens.keys.tag(42) == PINNED_INT_TAG
    token = await issued(tokens, CAROL)
    live_key = tokens.keys.live(*tokens.keys.parse(token))
    assert (await tokens.redis.hget(live_key, "v")).decode() == PINNED_INT_VALUE
    codes = redis_strategy(RedisResetCodeStrategy)
    stored = await code_issued(codes, CAROL, "48213906")
    assert stored == f"{PINNED_INT_CODE_DIGEST} {PINNED_INT_VALUE}"


# An int's encoding is never a UUID's.

# Ints whose decimal text is as long as a UUID's bytes: were an int's tag or code digest made
# under a UUID's key, each would be the tag or digest of the UUID made of those bytes.
SIXTEEN_DIGITS = 1234567890123456
FIFTEEN_DIGITS = 123456789012345


def test_int_tags_are_never_uuid_tags() -> None:
    """42 and UUID(int=42), or an int and the UUID of its decimal text: different tags."""
    keys = redis_strategy().keys
    assert keys.tag(42) != keys.tag(uuid.UUID(int=42))
    twin = uuid.UUID(bytes=str(SIXTEEN_DIGITS).encode())
    assert keys.tag(SIXTEEN_DIGITS) != keys.tag(twin)
    assert len({keys.tag(n) for n in range(-50, 50)} | {keys.tag(PINNED_UUID)}) == 101


async def test_int_code_digests_are_never_uuid_code_digests() -> None:
    """The same code for an int and for the UUID of its decimal text and a colon: two digests."""
    strategy = redis_strategy(RedisResetCodeStrategy)
    twin = uuid.UUID(bytes=f"{FIFTEEN_DIGITS}:".encode())
    as_int = await code_issued(strategy, Account(FIFTEEN_DIGITS), "48213906")
    as_uuid = await code_issued(strategy, Account(twin), "48213906")
    assert as_int.split()[0] != as_uuid.split()[0]


def test_stored_values_name_their_kind_of_id() -> None:
    """An int is stored as "i<decimal>", a UUID as 32 hex digits; each decodes to its own type."""
    for user_id in (42, 0, -7, LARGEST, SMALLEST, uuid.UUID(int=42), PINNED_UUID):
        text = StoredToken(user_id, "MezKnEsT_3skCH9us06WVg").encode()
        decoded = StoredToken.decode(text)
        assert decoded is not None and type(decoded.user_id) is type(user_id)
        assert decoded.user_id == user_id and decoded.encode() == text
    assert StoredToken(42, "x").encode() != StoredToken(uuid.UUID(int=42), "x").encode()


# Malformed forms are refused.

FINGERPRINT = "MezKnEsT_3skCH9us06WVg"


@pytest.mark.parametrize(
    "user_part",
    [
        "i",
        "i-",
        "i01x",
        "i01",
        "i-0",
        "i+42",
        "i 42",
        "I42",
        "i" + "1" * 20,
        f"i{LARGEST + 1}",
        f"i{SMALLEST - 1}",
        "iTrue",
        "True",
        "42",
        "0B6D6C3E0D8E4B8A9A533D1F2B8C7E10",
        str(PINNED_UUID),
    ],
)
def test_malformed_stored_values_decode_as_nothing(user_part: str) -> None:
    """A stored value whose id is in neither exact form reads as no token."""
    assert StoredToken.decode(f"{user_part}:{FINGERPRINT}") is None


@pytest.mark.parametrize(
    "sub",
    [
        "i",
        "i-",
        "i01x",
        "-",
        "",
        "1" * 20,
        str(LARGEST + 1),
        str(SMALLEST - 1),
        "+42",
        " 42",
        "42 ",
        "4_2",
        "\u0664\u0662",  # Arabic-Indic digits: int() reads them, a subject may not hold them
        "True",
        True,
        42,
        str(PINNED_UUID).upper(),
        PINNED_UUID.hex,
        f"{{{PINNED_UUID}}}",
        PINNED_UUID.urn,
    ],
)
async def test_malformed_jwt_subjects_read_as_nobody(sub: object) -> None:
    """Only canonical UUID text and decimal ints of 64 bits are subjects; the rest is None."""
    strategy = jwt_strategy()
    claims = {"sub": sub, "aud": "fastapi-users:reset", "exp": int(NOW) + 60, "pfp": FINGERPRINT}
    with_ok_sub = jwt.encode(dict(claims, sub="42"), SECRET, algorithm="HS256")
    assert await strategy.read_token(with_ok_sub) is not None  # the control: only sub differs
    assert await strategy.read_token(jwt.encode(claims, SECRET, algorithm="HS256")) is None


@pytest.mark.parametrize("text", ["i", "i-", "i01x", "01x", "-", "", "1" * 20, str(LARGEST + 1)])
async def test_id_text_in_neither_form_is_a_value_error_naming_both(text: str) -> None:
    """revoke_user_tokens and count_user_tokens refuse it before Redis is asked."""
    strategy = redis_strategy()
    for call in (strategy.revoke_user_tokens, strategy.count_user_tokens):
        with pytest.raises(ValueError, match=r"a UUID, or an integer of at most 19 digits"):
            await call(text)


async def test_id_text_reads_as_an_int_or_a_uuid() -> None:
    """Decimal text is an int id (leading zeros or a minus allowed); else UUID text."""
    strategy = redis_strategy()
    cases: list[tuple[UserId, list[str]]] = [
        (42, ["42", "042"]),
        (-7, ["-7"]),
        (LARGEST, [str(LARGEST)]),
        (PINNED_UUID, [str(PINNED_UUID), PINNED_UUID.hex, PINNED_UUID.urn]),
    ]
    for user_id, texts in cases:
        await issued(strategy, Account(user_id))
        for text in texts:
            assert await strategy.count_user_tokens(text) == 1, text


@pytest.mark.parametrize("kind", ["jwt", "fakeredis", "codes-fakeredis"])
@pytest.mark.parametrize("bad_id", [True, False, 3.0, "42", LARGEST + 1, SMALLEST - 1])
async def test_an_application_id_that_is_no_id_is_refused(
    kind: str, bad_id: Any, request: pytest.FixtureRequest
) -> None:
    """A bool (an int to Python) or another type: TypeError; an int beyond 64 bits: ValueError."""
    error = ValueError if isinstance(bad_id, int) and not isinstance(bad_id, bool) else TypeError
    async with strategy_of_kind(kind, request) as strategy:
        strategy.bind(SECRET, 600)
        with pytest.raises(error):
            await strategy.issue_token(Account(bad_id))
        if strategy.requires_email:
            with pytest.raises(error):
                await strategy.read_token("48213906", user_id=bad_id)
        if isinstance(strategy, RedisResetTokenStrategy) and not isinstance(bad_id, str):
            for call in (strategy.revoke_user_tokens, strategy.count_user_tokens):
                with pytest.raises(error):
                    await call(bad_id)


@pytest.mark.anyio
async def test_a_token_for_an_integer_id_is_a_bad_token_for_uuid_users(user_db: Any) -> None:
    """A correctly signed token naming an integer id, on this API (UUID users) and every
    user database: 400, never a database error."""
    async with open_harness(JWTResetTokenStrategy(), user_db) as harness:
        user = await harness.add_user()
        forged = await harness.strategy.issue_token(Account(42, user.email, user.hashed_password))
        assert forged is not None
        for path, body in [
            ("/auth/reset-password", {"token": forged, "password": NEW_PASSWORD}),
            ("/auth/reset-password/validate", {"token": forged}),
        ]:
            answer = await harness.client.post(path, json=body)
            assert answer.status_code == 400, answer.text
            assert answer.json() == {"detail": "RESET_PASSWORD_BAD_TOKEN"}
