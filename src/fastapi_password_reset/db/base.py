"""The seam between the user flows and wherever users are stored."""

from __future__ import annotations

from typing import Protocol, TypeVar

from pydantic import UUID4

from fastapi_password_reset.models import BaseUserDB

UD = TypeVar("UD", bound=BaseUserDB)


class BaseUserDatabase(Protocol[UD]):
    """Storage of users. Every method is a coroutine.

    ``update`` stores the whole user it is given; until it returns, the stored user is unchanged,
    so a failed update leaves the old password hash in place.
    """

    async def get(self, id: UUID4) -> UD | None:
        """The user with this id, or None."""
        ...

    async def get_by_email(self, email: str) -> UD | None:
        """The user with this e-mail address, compared case-insensitively, or None."""
        ...

    async def create(self, user: UD) -> UD:
        """Store a new user; raise `UserAlreadyExistsError` when the e-mail is taken."""
        ...

    async def update(self, user: UD) -> UD:
        """Replace the stored user with the same id; raise `UserNotFoundError` if there is none."""
        ...

    async def delete(self, user: UD) -> None:
        """Remove the user with this id, if stored."""
        ...
