"""Reset-token strategies: stateless JWTs or revocable single-use tokens kept in Redis."""

from fastapi_password_reset.tokens.base import (
    ResetTokenStrategy,
    RevocationNotSupportedError,
    StrategyAlreadyBoundError,
    StrategyNotBoundError,
    TokenStoreUnavailableError,
    TokenStrategyError,
)
from fastapi_password_reset.tokens.jwt import JWTResetTokenStrategy

__all__ = [
    "JWTResetTokenStrategy",
    "ResetTokenStrategy",
    "RevocationNotSupportedError",
    "StrategyAlreadyBoundError",
    "StrategyNotBoundError",
    "TokenStoreUnavailableError",
    "TokenStrategyError",
]
