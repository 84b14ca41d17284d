"""Reset-token strategies: stateless JWTs or revocable single-use tokens kept in Redis.

`RedisResetTokenStrategy` needs the ``redis`` extra
(``pip install fastapi-password-reset[redis]``); it is imported on first use, so JWT mode
works without redis-py installed.
"""

from typing import TYPE_CHECKING, Any

from fastapi_password_reset.tokens.base import (
    ResetTicket,
    ResetTokenStrategy,
    RevocationNotReplicatedError,
    RevocationNotSupportedError,
    StrategyAlreadyBoundError,
    StrategyNotBoundError,
    TokenStoreUnavailableError,
    TokenStrategyError,
)
from fastapi_password_reset.tokens.jwt import JWTResetTokenStrategy

if TYPE_CHECKING:
    from fastapi_password_reset.tokens.redis import RedisResetTokenStrategy

__all__ = [
    "JWTResetTokenStrategy",
    "RedisResetTokenStrategy",
    "ResetTicket",
    "ResetTokenStrategy",
    "RevocationNotReplicatedError",
    "RevocationNotSupportedError",
    "StrategyAlreadyBoundError",
    "StrategyNotBoundError",
    "TokenStoreUnavailableError",
    "TokenStrategyError",
]


def __getattr__(name: str) -> Any:
    if name == "RedisResetTokenStrategy":
        try:
            from fastapi_password_reset.tokens.redis import RedisResetTokenStrategy
        except ImportError as exc:
            raise ImportError(
                "RedisResetTokenStrategy needs redis-py: "
                "pip install 'fastapi-password-reset[redis]'"
            ) from exc
        return RedisResetTokenStrategy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
