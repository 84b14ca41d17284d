"""The seam between the user flows and wherever users are stored."""

from __future__ import annotations

import unicodedata
from typing import Protocol, TypeVar

from pydantic import UUID4

from fastapi_password_reset.models import BaseUserDB

UD = TypeVar("UD", bound=BaseUserDB)


def canonical_email(email: str) -> str:
    """The key under which e-mail addresses are compared: Unicode NFKC case folding.

    Computed in Python rather than by the database's ``lower()``, which folds only ASCII in
    SQLite and follows the server's locale in PostgreSQL: ``Émile@…`` and ``émile@…`` must be
    one account in every store. ``casefold`` also maps ``ß`` to ``ss`` and compatibility forms
    (full-width letters, ligatures) to their plain letters, so look-alike spellings of one
    address cannot register twice.
    """
    folded = unicodedata.normalize("NFKC", email).casefold()
    return unicodedata.normalize("NFKC", folded)


class BaseUserDatabase(Protocol[UD]):
    """Storage of users. Every method is a coroutine.

    E-mail addresses are unique and looked up by `canonical_email`. ``update`` stores the
    whole user it is given; the flows of this library never call it on a user loaded earlier:
    they change a password only through `replace_password_hash`, so a change made meanwhile
    (a deactivation, a new e-mail) is never undone.
    """

    async def get(self, id: UUID4) -> UD | None:
        """The user with this id, or None."""
        ...

    async def get_by_email(self, email: str) -> UD | None:
        """The user whose address has the same `canonical_email`, or None."""
        ...

    async def create(self, user: UD) -> UD:
        """Store a new user; raise `UserAlreadyExistsError` when the e-mail is taken."""
        ...

    async def update(self, user: UD) -> UD:
        """Replace the stored user with the same id; raise `UserNotFoundError` if there is none."""
        ...

    async def replace_password_hash(self, id: UUID4, old_hash: str, new_hash: str) -> bool:
        """Atomically set the password hash to ``new_hash`` if it is still ``old_hash``.

        Nothing else of the user is written. True when it was replaced; False when the user is
        gone or its hash changed meanwhile (another reset, a log-in rehash). This
        compare-and-set is what makes a reset single-use across processes.
        """
        ...

    async def delete(self, user: UD) -> None:
        """Remove the user with this id, if stored."""
        ...
