"""Reset-token strategies: stateless JWTs or revocable single-use tokens kept in Redis.

`RedisResetTokenStrategy` needs the ``redis`` extra (``pip install '.[redis]'`` in a clone of
the repository); it is imported on first use, so JWT mode works without redis-py installed.
"""

import importlib
from typing import TYPE_CHECKING, Any

from fastapi_password_reset._install import install_hint as _install_hint
from fastapi_password_reset.tokens.base import (
    ResetTicket,
    ResetTokenStrategy,
    RevocationNotReplicatedError,
    RevocationNotSupportedError,
    StrategyAlreadyBoundError,
    StrategyNotBoundError,
    TokenStoreUnavailableError,
    TokenStrategyError,
    UserId,
)
from fastapi_password_reset.tokens.jwt import JWTResetTokenStrategy

if TYPE_CHECKING:
    from fastapi_password_reset.tokens.redis import RedisResetTokenStrategy
    from fastapi_password_reset.tokens.redis_codes import RedisResetCodeStrategy, ResetCode

__all__ = [
    "JWTResetTokenStrategy",
    "RedisResetCodeStrategy",
    "RedisResetTokenStrategy",
    "ResetCode",
    "ResetTicket",
    "ResetTokenStrategy",
    "RevocationNotReplicatedError",
    "RevocationNotSupportedError",
    "StrategyAlreadyBoundError",
    "StrategyNotBoundError",
    "TokenStoreUnavailableError",
    "TokenStrategyError",
    "UserId",
]


_REDIS_STRATEGIES = {
    "RedisResetTokenStrategy": "fastapi_password_reset.tokens.redis",
    "RedisResetCodeStrategy": "fastapi_password_reset.tokens.redis_codes",
    "ResetCode": "fastapi_password_reset.tokens.redis_codes",
}


def __getattr__(name: str) -> Any:
    if name in _REDIS_STRATEGIES:
        try:
            module = importlib.import_module(_REDIS_STRATEGIES[name])
        except ImportError as exc:
            raise ImportError(f"{name} needs redis-py: {_install_hint('redis')}") from exc
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
