"""The secret and lifetime a router hands to its token strategy, settable once."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Final, final
from uuid import UUID

from fastapi_password_reset._signing import (
    RESET_FINGERPRINT_PURPOSE,
    Secret,
    account_fingerprint,
    derive_key,
    fingerprints_match,
    secret_bytes,
)
from fastapi_password_reset.tokens.base import (
    ResetTicket,
    StrategyAlreadyBoundError,
    StrategyNotBoundError,
    UserId,
    UserRecord,
)


@dataclass(frozen=True)
class Binding:
    key: bytes
    lifetime_seconds: int
    min_interval_seconds: float = 0

    def same_as(self, other: Binding) -> bool:
        return (
            self.lifetime_seconds == other.lifetime_seconds
            and self.min_interval_seconds == other.min_interval_seconds
            and hmac.compare_digest(self.key, other.key)
        )


@dataclass(frozen=True)
class _Account:
    id: UserId
    email: str
    hashed_password: str


# Whom a decoy issue is for: the same computation as a real one, for no one.
DECOY_ACCOUNT = _Account(UUID(int=0), "decoy@example.invalid", "$argon2id$v=19$m=8,t=1,p=1$decoy")


def check_lifetime(lifetime_seconds: object, *, name: str) -> int:
    if isinstance(lifetime_seconds, bool) or not isinstance(lifetime_seconds, int):
        raise TypeError(f"{name} must be an int")
    if lifetime_seconds <= 0:
        raise ValueError(f"{name} must be positive")
    return lifetime_seconds


class BindOnce:
    """Holds a strategy's binding: one secret and one lifetime for its whole life.

    Binding again with the same settings is allowed (two routers may share a strategy); with
    different ones it is an error, since tokens issued under one would fail under the other.
    It also computes the account fingerprint both strategies bind reset tokens to.
    """

    def __init__(self, strategy_name: str) -> None:
        self._strategy_name = strategy_name
        self._binding: Binding | None = None
        self._fingerprint_key = b""

    def bind(self, secret: Secret, lifetime_seconds: int, min_interval_seconds: float = 0) -> None:
        lifetime = check_lifetime(lifetime_seconds, name="reset_password_token_lifetime_seconds")
        if isinstance(min_interval_seconds, bool) or not min_interval_seconds >= 0:  # NaN too
            raise ValueError("min_interval_seconds must be a non-negative number")
        key = secret_bytes(secret, name="reset_password_token_secret")
        # The throttle never outlasts a token: the Redis key that holds it must not outlive
        # the lifetime, and a throttle longer than a token's life would refuse its renewal.
        new = Binding(key, lifetime, min(float(min_interval_seconds), lifetime))
        if self._binding is not None and not self._binding.same_as(new):
            raise StrategyAlreadyBoundError(
                f"this {self._strategy_name} is already bound to another secret, lifetime or "
                "throttle; give each router its own strategy or the same settings"
            )
        self._binding = new
        self._fingerprint_key = derive_key(new.key, RESET_FINGERPRINT_PURPOSE)

    @property
    def binding(self) -> Binding:
        if self._binding is None:
            raise StrategyNotBoundError(
                f"this {self._strategy_name} has no secret or lifetime yet: pass it to "
                "get_reset_password_router(..., token_strategy=...) before using it"
            )
        return self._binding

    def lifetime(self, override: int | None) -> int:
        """The bound lifetime, or a lifetime the application chose for one token."""
        if override is None:
            return self.binding.lifetime_seconds
        return check_lifetime(override, name="lifetime_seconds")

    def fingerprint(self, user: UserRecord) -> str:
        _ = self.binding  # an unbound strategy says what to do instead of using an empty key
        return account_fingerprint(self._fingerprint_key, user.email, user.hashed_password)

    def is_current(self, ticket: ResetTicket, user: UserRecord) -> bool:
        """Same user, same e-mail, same password hash as at issue time; constant-time."""
        return ticket.user_id == user.id and fingerprints_match(
            self.fingerprint(user), ticket.fingerprint
        )


@final
class MovedToRouter:
    """The default of a keyword that moved from the strategy to ``get_reset_password_router``.

    A parameter of its own, rather than a ``**kwargs`` catch-all, keeps every keyword of the
    constructor in its signature (and so in the API reference), and still lets the old
    keyword fail with a message that says where it went.
    """

    def __repr__(self) -> str:
        return "<moved to get_reset_password_router>"


MOVED_TO_ROUTER: Final = MovedToRouter()
