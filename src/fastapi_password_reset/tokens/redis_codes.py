"""Short reset codes kept in Redis: typed by a person, bound to an e-mail, few tries."""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import string
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from redis.asyncio import Redis, RedisCluster

from fastapi_password_reset._events import Event, EventRecorder
from fastapi_password_reset._signing import Secret, derive_key
from fastapi_password_reset.tokens import _redis_code_scripts
from fastapi_password_reset.tokens._binding import DECOY_ACCOUNT, MOVED_TO_ROUTER, MovedToRouter
from fastapi_password_reset.tokens._redis_keys import StoredToken, _b64
from fastapi_password_reset.tokens._user_ids import as_user_id, check_user_id
from fastapi_password_reset.tokens.base import (
    ResetTicket,
    TokenStoreUnavailableError,
    UserId,
    UserRecord,
)
from fastapi_password_reset.tokens.redis import (
    CLAIM_LEASE_SECONDS,
    RedisResetTokenStrategy,
    RedisTicket,
)

logger = logging.getLogger("fastapi_password_reset")

DIGITS = string.digits
# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: what a person can misread in a mail or mistype on a phone.
UNAMBIGUOUS = "ACDEFGHJKMNPQRTUVWXY3467"
# Crockford's Base32: digits and letters without I, L, O and U; a typed O reads as 0 and an I
# or L as 1, so the look-alikes it keeps cannot be mistyped. 32 symbols: 5 bits a character.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_READS = str.maketrans("OIL", "011")

# What the defaults are measured against (docs/codes.md): an attacker who knows this many
# addresses and spends every guess the library allows.
ADDRESSES_AT_SCALE = 10_000_000


@dataclass(frozen=True)
class CodeTicket(RedisTicket):
    """A code read once for a user: the digest stands for the code itself."""


class ResetCode(str):
    """What the hook receives as its ``token`` from `RedisResetCodeStrategy`: the code itself
    (a ``str``, so a hook written for codes needs no change) and ``link_token``, a link token
    for the same reset that wrong guesses cannot use up. Put both in the mail."""

    link_token: str

    def __new__(cls, code: str, link_token: str) -> ResetCode:
        made = super().__new__(cls, code)
        made.link_token = link_token
        return made

    @property
    def grouped(self) -> str:
        """The code in groups of four for a person to read (``7KQ4-XMD3-9PW2``); the dashes
        are ignored when it is typed back."""
        return "-".join(self[i : i + 4] for i in range(0, len(self), 4))


class RedisResetCodeStrategy(RedisResetTokenStrategy):
    """Reset codes a person types (``7KQ4-XMD3-9PW2``) instead of a link to follow.

    Hand it to ``get_reset_password_router(..., token_strategy=...)``: the hook receives a
    `ResetCode` as its ``token`` (the code, and a link token for the same reset), and ``POST
    /reset-password`` then takes ``{"email", "token", "password"}`` with either of them. Give
    it a short lifetime (ten to fifteen minutes).

    Why it is safe:

    - A code is drawn uniformly with `secrets` from ``alphabet`` (`CROCKFORD` by default: 32
      symbols, 5 bits each; or `DIGITS`, `UNAMBIGUOUS`), ``code_length`` (12) characters long.
    - Nobody but the mailbox owner can block a reset: wrong guesses use up a code, never the
      link token mailed with it (256 random bits, which no guess finds), so whatever a guesser
      does, the newest mail in the inbox still resets the password.
    - It is bound to its user: Redis keeps only an HMAC-SHA256 of the user id and the code
      under the bound secret, in the user's own key, so a code is worth nothing for another
      address and a copy of Redis reveals no code.
    - At most ``max_attempts`` wrong tries: each is counted by the same Lua script that checks
      the code, atomically, and the one that reaches the limit deletes the code. A thousand
      concurrent guesses cannot get past it; after it, even the right code is refused.
    - One live code per user: a new one replaces the old one, with a fresh count. With the
      router's ``min_interval_seconds`` (60 by default) a guesser gets ``max_attempts`` tries
      per interval at most; `odds_per_day` says what that gives over many addresses (at the
      defaults, below 1e-6 a day against ten million). Without the throttle every request
      grants fresh tries: `bind` warns.
    - Everything said of `RedisResetTokenStrategy` holds: a claim per reset attempt that a
      lost reply or a dead attempt cannot keep, a give-back that cannot bring back a revoked
      code, cluster hash tags, every store failure a 503.
    """

    requires_email = True

    def __init__(
        self,
        redis: Redis | RedisCluster,
        *,
        code_length: int = 12,
        max_attempts: int = 5,
        alphabet: str = CROCKFORD,
        key_prefix: str = "password-reset",
        max_concurrent_commands: int = 64,
        wait_for_replicas: int = 0,
        wait_timeout_seconds: float = 1.0,
        min_interval_seconds: MovedToRouter = MOVED_TO_ROUTER,
    ) -> None:
        """The keywords after ``alphabet`` are `RedisResetTokenStrategy`'s; a user has one
        live code, so its ``max_tokens_per_user`` has no counterpart here."""
        if isinstance(code_length, bool) or not isinstance(code_length, int) or code_length < 6:
            raise ValueError("code_length must be an int of at least 6")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError("max_attempts must be a positive int")
        if len(set(alphabet)) != len(alphabet) or len(alphabet) < 10 or not alphabet.isascii():
            raise ValueError("alphabet must be at least 10 distinct ASCII characters")
        super().__init__(
            redis,
            key_prefix=key_prefix,
            max_concurrent_commands=max_concurrent_commands,
            wait_for_replicas=wait_for_replicas,
            wait_timeout_seconds=wait_timeout_seconds,
            min_interval_seconds=min_interval_seconds,
        )
        self.code_length = code_length
        self.max_attempts = max_attempts
        self.alphabet = alphabet
        self._issue_code = redis.register_script(_redis_code_scripts.ISSUE_CODE)
        self._check_code = redis.register_script(_redis_code_scripts.CHECK_CODE)
        self._consume_code = redis.register_script(_redis_code_scripts.CONSUME_CODE)
        self._revoke_code = redis.register_script(_redis_code_scripts.REVOKE_CODE)

    def bind(
        self,
        secret: Secret,
        lifetime_seconds: int,
        *,
        min_interval_seconds: float = 0,
        events: EventRecorder | None = None,
    ) -> None:
        super().bind(
            secret, lifetime_seconds, min_interval_seconds=min_interval_seconds, events=events
        )
        if not min_interval_seconds:
            logger.warning(
                "RedisResetCodeStrategy without a mail throttle (min_interval_seconds=0): every "
                "forgot-password request grants %d fresh guesses at a code, as fast as they come",
                self.max_attempts,
            )

    def odds_per_day(
        self,
        *,
        addresses: int = ADDRESSES_AT_SCALE,
        min_interval_seconds: float = 60,
    ) -> float:
        """The chance that a guesser who knows ``addresses`` addresses and spends every guess
        allowed takes over at least one account in a day: one fresh code per address per
        interval, ``max_attempts`` guesses at each, among ``len(alphabet) ** code_length``."""
        if min_interval_seconds <= 0:
            return 1.0
        codes = addresses * 86_400 / min_interval_seconds
        per_code = self.max_attempts / len(self.alphabet) ** self.code_length
        return -math.expm1(codes * math.log1p(-per_code))

    def new_code(self) -> str:
        """A fresh code: each character drawn uniformly from the alphabet."""
        return "".join(secrets.choice(self.alphabet) for _ in range(self.code_length))

    def _digest(self, user_id: UserId, code: str) -> str:
        """HMAC-SHA256 of the user id and the code.

        For a UUID: its 16 bytes, then the code (as before int ids). For an int: its decimal
        text, a colon and the code, under a key of its own, so no int's digest is a UUID's;
        the text has no colon, so the first one ends it whatever the alphabet.
        """
        if isinstance(user_id, UUID):
            key = derive_key(self._settings.binding.key, "redis-code-digest")
            message = user_id.bytes
        else:
            key = derive_key(self._settings.binding.key, "redis-code-digest-int")
            message = f"{check_user_id(user_id)}:".encode("ascii")
        return _b64(hmac.digest(key, message + code.encode("ascii"), "sha256")[:16])

    def _code_keys(self, user_id: UserId) -> tuple[str, str, str]:
        """The user's tag, code key and throttle key."""
        keys = self.keys
        tag = keys.tag(user_id)
        return tag, keys.user_prefix(tag) + "c", keys.throttle(tag)

    async def issue_token(
        self, user: UserRecord, *, lifetime_seconds: int | None = None, throttle: bool = True
    ) -> ResetCode | None:
        """A new code for the user (replacing theirs) with a link token beside it, or None
        when throttled."""
        code = self.new_code()
        stored = await self._issue_code_run(user, code, lifetime_seconds, throttle, decoy=False)
        if not stored:
            return None
        try:
            link = await super().issue_token(
                user, lifetime_seconds=lifetime_seconds, throttle=False
            )
        except TokenStoreUnavailableError:
            # No mail goes out: the code must not hold the throttle for nothing.
            await _logged_failure(self._withdraw_code(check_user_id(user.id), code))
            raise
        assert link is not None, "an unthrottled issue always gives a token"
        return ResetCode(code, link)

    async def issue_decoy(self) -> None:
        await self._issue_code_run(DECOY_ACCOUNT, self.new_code(), None, True, decoy=True)
        await super().issue_decoy()

    async def _issue_code_run(
        self,
        user: UserRecord,
        code: str,
        lifetime_seconds: int | None,
        throttle: bool,
        *,
        decoy: bool,
    ) -> bool:
        user_id = check_user_id(user.id)
        _, code_key, throttle_key = self._code_keys(user_id)
        interval = self._settings.binding.min_interval_seconds if throttle else 0
        args = [
            self._digest(user_id, code),
            StoredToken(user_id, self._settings.fingerprint(user)).encode(),
            self._settings.lifetime(lifetime_seconds) * 1000,
            int(interval * 1000),
            int(decoy),
        ]
        return await self._run(self._issue_code, [code_key, throttle_key], args) == 1

    async def read_token(self, token: str, *, user_id: UserId | None = None) -> RedisTicket | None:
        """The ticket of ``token`` if it is the live code of ``user_id``, or a live link token
        of that user; a wrong code counts as an attempt, a link token never does.

        Without a user (an unknown address) the same check runs against nobody's key, so an
        unknown address costs what a wrong code does.
        """
        if self.keys.parse(token) is not None:
            return await self._read_link(token, user_id)
        # People copy "4821 3906" or "7KQ4-XMD3" as the mail shows it: the separators (never
        # in an alphabet) and the case of an upper-case alphabet are not part of the code.
        code = "".join(token.split()).replace("-", "")
        code = code.upper() if self.alphabet.isupper() else code
        code = code.translate(_CROCKFORD_READS) if self.alphabet == CROCKFORD else code
        well_formed = len(code) == self.code_length and all(c in self.alphabet for c in code)
        owner = check_user_id(user_id) if user_id is not None else DECOY_ACCOUNT.id
        tag, code_key, _ = self._code_keys(owner)
        digest = self._digest(owner, code if well_formed else "")
        args: list[Any] = [digest, self.max_attempts]
        value = await self._call(lambda: self._check_code(keys=[code_key], args=args))
        stored = StoredToken.decode(value)
        if user_id is None or not well_formed or stored is None or stored.user_id != user_id:
            self._events.emit(Event.WRONG_CODE, user_id=user_id)
            return None
        return CodeTicket(stored.user_id, stored.fingerprint, tag, digest, secrets.token_hex(16))

    async def _read_link(self, token: str, user_id: UserId | None) -> RedisTicket | None:
        """A link token from a code mail: the user it names must be the one the client named.

        It is 256 random bits: guessing one is hopeless, so a wrong one counts no attempt
        and no number of wrong codes can use it up.
        """
        ticket = await super().read_token(token)
        if ticket is None or user_id is None or ticket.user_id != user_id:
            return None
        return ticket

    def _owns(self, ticket: ResetTicket) -> bool:
        return type(ticket) in (CodeTicket, RedisTicket)

    async def _claim(self, ticket: RedisTicket) -> bool:
        if type(ticket) is not CodeTicket:
            return await super()._claim(ticket)
        _, code_key, _ = self._code_keys(ticket.user_id)
        value = StoredToken(ticket.user_id, ticket.fingerprint).encode()
        args = [ticket.digest, value, ticket.attempt, CLAIM_LEASE_SECONDS * 1000]
        return await self._run(self._consume_code, [code_key], args) == 1

    async def _give_back(self, ticket: RedisTicket) -> None:
        if type(ticket) is not CodeTicket:
            await super()._give_back(ticket)
            return
        _, code_key, _ = self._code_keys(ticket.user_id)
        await self._run(self._release, [code_key], [ticket.attempt])  # the same give-back

    async def withdraw_token(self, user: UserRecord, token: str) -> None:
        await self._withdraw_code(check_user_id(user.id), str(token))
        link = getattr(token, "link_token", None)
        if link is not None:
            await super().withdraw_token(user, link)

    async def _withdraw_code(self, user_id: UserId, code: str) -> None:
        _, code_key, throttle_key = self._code_keys(user_id)
        digest = self._digest(user_id, code)
        await self._run(self._revoke_code, [code_key, throttle_key], [digest])

    async def revoke_token(self, token: str) -> bool:
        """Codes are found through their user: revoke them with `revoke_user_tokens`."""
        raise TypeError("a code names no user: use revoke_user_tokens(user_id)")

    async def count_user_tokens(self, user_id: UserId | str) -> int:
        """Whether the user has a live code: 1 or 0 (what `revoke_user_tokens` would revoke)."""
        _, code_key, _ = self._code_keys(as_user_id(user_id))
        return int(await self._call(lambda: self.redis.exists(code_key)))

    async def revoke_user_tokens(self, user_id: UserId | str) -> int:
        """Revoke the user's code, if one is outstanding, and the link tokens mailed with the
        user's codes; the number of codes revoked, 1 or 0."""
        owner = as_user_id(user_id)
        await self._revoke_links(owner)
        _, code_key, throttle_key = self._code_keys(owner)
        revoked = await self._revoke(self._revoke_code, [code_key, throttle_key], [])
        if revoked:
            self._events.emit(Event.TOKENS_REVOKED, user_id=owner, count=revoked)
        return revoked


async def _logged_failure(work: Awaitable[None]) -> None:
    try:
        await work
    except TokenStoreUnavailableError:
        logger.warning("could not withdraw a code whose link could not be issued: it expires")
