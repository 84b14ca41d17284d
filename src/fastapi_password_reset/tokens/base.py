"""The seam between the reset routes and the way reset tokens are made and kept."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from pydantic import UUID4

from fastapi_password_reset.signing import Secret


class UserRecord(Protocol):
    """What a strategy needs of a user: who it is and what its password currently is."""

    @property
    def id(self) -> UUID4: ...

    @property
    def hashed_password(self) -> str: ...


U = TypeVar("U", bound=UserRecord)


class ResetTokenStrategy(Protocol):
    """Issues, checks and uses up password-reset tokens.

    The router binds one secret and one lifetime to it before any other call. ``consume_token``
    is the single-use gate: of any number of concurrent calls with one token, one returns True.
    A store that cannot be reached raises `TokenStoreUnavailableError` and changes nothing.
    """

    def bind(self, secret: Secret, lifetime_seconds: int) -> None: ...

    async def issue_token(self, user: UserRecord) -> str | None:
        """A new token for the user, or None when the strategy declines (rate limit)."""
        ...

    async def read_token(
        self, token: str, get_user: Callable[[UUID4], Awaitable[U | None]]
    ) -> U | None:
        """The user the token is live for, loaded through ``get_user``; None if it is not."""
        ...

    async def consume_token(self, token: str, user: UserRecord) -> bool: ...

    async def restore_token(self, token: str, user: UserRecord) -> None:
        """Give back a consumed token whose reset could not be stored."""
        ...

    async def password_changed(self, user: UserRecord) -> None:
        """The user's password was just reset: make every other token of theirs dead."""
        ...

    async def revoke_token(self, token: str) -> bool: ...

    async def revoke_user_tokens(self, user_id: UUID4) -> int: ...


class TokenStrategyError(Exception):
    """Base of the errors a token strategy raises."""


class StrategyNotBoundError(TokenStrategyError):
    """The strategy was used before a router gave it its secret and lifetime."""


class StrategyAlreadyBoundError(TokenStrategyError):
    """The strategy was bound a second time with another secret or lifetime."""


class RevocationNotSupportedError(TokenStrategyError):
    """Stateless tokens cannot be revoked one by one; a password change kills them all."""


class TokenStoreUnavailableError(TokenStrategyError):
    """The store that keeps tokens could not be reached; nothing was changed by the call."""
