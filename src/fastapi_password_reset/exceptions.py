"""Domain errors of the user flows; the routers map them to HTTP answers."""

from __future__ import annotations

from enum import Enum
from typing import Any


class FastAPIUsersError(Exception):
    """Base of every error this library raises on purpose."""


class InvalidPasswordException(FastAPIUsersError):  # noqa: N818 - public fastapi-users name
    """Raised by a ``validate_password`` hook to refuse a password.

    ``reason`` is shown to the client as it is, so it must not contain the password.
    """

    def __init__(self, reason: Any) -> None:
        super().__init__(reason)
        self.reason = reason


class UserAlreadyExistsError(FastAPIUsersError):
    """A user with this e-mail address (compared case-insensitively) is already stored."""


class UserNotFoundError(FastAPIUsersError):
    """The user to update or delete is not stored."""


class InsecureSecretError(ValueError, FastAPIUsersError):
    """A signing secret is too short to resist offline guessing."""


class UserDatabaseError(FastAPIUsersError):
    """The user database failed; the message names the operation, never its parameters."""


class TokenRefusal(str, Enum):  # noqa: UP042 - str mixin, like ErrorCode
    """Why a reset token was refused: for logs and events, never for the client.

    Every refusal is the same 400 to the client, so that an attacker learns nothing.
    """

    INVALID = "invalid"
    """Malformed, forged, expired, revoked or never issued."""
    NO_USER = "no_user"
    """The user it names no longer exists."""
    ACCOUNT_CHANGED = "account_changed"
    """The e-mail address or the password changed since the token was issued."""
    INACTIVE = "inactive"
    """The user is inactive."""
    ALREADY_USED = "already_used"
    """Another reset used the token first."""


class BadResetTokenError(FastAPIUsersError):
    """A reset token that cannot be used; ``reason`` says why (never shown to the client)."""

    def __init__(self, reason: TokenRefusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


class PasswordNotSavedError(FastAPIUsersError):
    """The new password could not be stored; the token was given back and still works."""


class PasswordWriteNotAtomicWarning(UserWarning):
    """The user database has no compare-and-set of its own for password writes.

    Its `BaseUserDatabase.replace_password_hash` is the stand-in built from ``get`` and
    ``update``: one reset per token within one process, not across several worker processes.
    """
