"""Password-reset routes for FastAPI, with the fastapi-users 5-7 API.

Stateless signed JWTs by default, or random single-use tokens kept in Redis that can be
revoked (`fastapi_password_reset.tokens.RedisResetTokenStrategy`).
"""

from importlib.metadata import version as _distribution_version

from fastapi_password_reset import models
from fastapi_password_reset._background import BackgroundWork
from fastapi_password_reset._events import Event, EventRecorder, ResetEvent
from fastapi_password_reset._service import ForgotOutcome, PasswordResetService
from fastapi_password_reset.exceptions import (
    BadResetTokenError,
    FastAPIUsersError,
    InsecureSecretError,
    InvalidPasswordException,
    PasswordNotSavedError,
    PasswordWriteNotAtomicWarning,
    TokenRefusal,
    UserAlreadyExistsError,
    UserDatabaseError,
    UserNotFoundError,
)
from fastapi_password_reset.fastapi_users import FastAPIUsers
from fastapi_password_reset.password import PasswordHelper
from fastapi_password_reset.router.common import ErrorCode

__version__ = _distribution_version("fastapi-password-reset")  # pyproject.toml's, once

__all__ = [
    "BackgroundWork",
    "BadResetTokenError",
    "ErrorCode",
    "Event",
    "EventRecorder",
    "FastAPIUsers",
    "FastAPIUsersError",
    "ForgotOutcome",
    "InsecureSecretError",
    "InvalidPasswordException",
    "PasswordHelper",
    "PasswordNotSavedError",
    "PasswordResetService",
    "PasswordWriteNotAtomicWarning",
    "ResetEvent",
    "TokenRefusal",
    "UserAlreadyExistsError",
    "UserDatabaseError",
    "UserNotFoundError",
    "__version__",
    "models",
]
