"""Password-reset routes for FastAPI, with the fastapi-users 5-7 API.

Stateless signed JWTs by default, or random single-use tokens kept in Redis that can be
revoked (`fastapi_password_reset.tokens.RedisResetTokenStrategy`).
"""

from fastapi_password_reset import models
from fastapi_password_reset.exceptions import (
    FastAPIUsersError,
    InsecureSecretError,
    InvalidPasswordException,
    UserAlreadyExistsError,
    UserNotFoundError,
)
from fastapi_password_reset.fastapi_users import FastAPIUsers
from fastapi_password_reset.password import PasswordHelper
from fastapi_password_reset.router.common import ErrorCode

__version__ = "0.1.0"

__all__ = [
    "ErrorCode",
    "FastAPIUsers",
    "FastAPIUsersError",
    "InsecureSecretError",
    "InvalidPasswordException",
    "PasswordHelper",
    "UserAlreadyExistsError",
    "UserNotFoundError",
    "__version__",
    "models",
]
