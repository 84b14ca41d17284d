"""Domain errors of the user flows; the routers map them to HTTP answers."""

from __future__ import annotations

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
