"""The secret and lifetime a router hands to its token strategy, settable once."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi_password_reset.signing import Secret, secret_bytes
from fastapi_password_reset.tokens.base import StrategyAlreadyBoundError, StrategyNotBoundError


@dataclass(frozen=True)
class Binding:
    key: bytes
    lifetime_seconds: int

    def same_as(self, other: Binding) -> bool:
        return self.lifetime_seconds == other.lifetime_seconds and hmac.compare_digest(
            self.key, other.key
        )


class BindOnce:
    """Holds a strategy's binding: one secret and one lifetime for its whole life.

    Binding again with the same settings is allowed (two routers may share a strategy); with
    different ones it is an error, since tokens issued under one would fail under the other.
    """

    def __init__(self, strategy_name: str) -> None:
        self._strategy_name = strategy_name
        self._binding: Binding | None = None

    def bind(self, secret: Secret, lifetime_seconds: int) -> None:
        if isinstance(lifetime_seconds, bool) or not isinstance(lifetime_seconds, int):
            raise TypeError("reset_password_token_lifetime_seconds must be an int")
        if lifetime_seconds <= 0:
            raise ValueError("reset_password_token_lifetime_seconds must be positive")
        new = Binding(secret_bytes(secret, name="reset_password_token_secret"), lifetime_seconds)
        if self._binding is not None and not self._binding.same_as(new):
            raise StrategyAlreadyBoundError(
                f"this {self._strategy_name} is already bound to another secret or lifetime; "
                "give each router its own strategy or the same settings"
            )
        self._binding = new

    @property
    def binding(self) -> Binding:
        if self._binding is None:
            raise StrategyNotBoundError(
                f"this {self._strategy_name} has no secret or lifetime yet: pass it to "
                "get_reset_password_router(..., token_strategy=...) before using it"
            )
        return self._binding
