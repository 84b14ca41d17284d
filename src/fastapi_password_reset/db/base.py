"""The seam between the user flows and wherever users are stored."""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import anyio

from fastapi_password_reset.exceptions import PasswordWriteNotAtomicWarning
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


class BaseUserDatabase(Generic[UD]):
    """Base class of user databases, as in fastapi-users 5-7. Every method is a coroutine.

    Subclasses write ``get``, ``get_by_email``, ``create``, ``update`` and ``delete`` and call
    ``super().__init__(user_db_model)``. E-mail addresses are unique and looked up by
    `canonical_email`. ``update`` stores the whole user it is given; the flows of this library
    never call it on a user loaded earlier: they change a password only through
    `replace_password_hash`, so a change made meanwhile (a deactivation, a new e-mail) is
    never undone.

    A subclass should write `replace_password_hash` as one atomic compare-and-set of its
    store (SQL: ``UPDATE … WHERE id = :id AND hashed_password = :old``). One that does not
    inherits a stand-in built from ``get`` and ``update``, atomic within one process only:
    `FastAPIUsers` warns about it once, at start-up (`PasswordWriteNotAtomicWarning`).
    """

    user_db_model: type[UD]

    def __init__(self, user_db_model: type[UD]) -> None:
        self.user_db_model = user_db_model

    async def get(self, id: Any) -> UD | None:
        """The user with this id, or None."""
        raise NotImplementedError

    async def get_by_email(self, email: str) -> UD | None:
        """The user whose address has the same `canonical_email`, or None."""
        raise NotImplementedError

    async def create(self, user: UD) -> UD:
        """Store a new user; raise `UserAlreadyExistsError` when the e-mail is taken."""
        raise NotImplementedError

    async def update(self, user: UD) -> UD:
        """Replace the stored user with the same id; raise `UserNotFoundError` if there is none."""
        raise NotImplementedError

    async def delete(self, user: UD) -> None:
        """Remove the user with this id, if stored."""
        raise NotImplementedError

    async def replace_password_hash(self, id: Any, old_hash: str, new_hash: str) -> bool:
        """Atomically set the password hash to ``new_hash`` if it is still ``old_hash``.

        Nothing else of the user is written. True when it was replaced; False when the user is
        gone or its hash changed meanwhile (another reset, a log-in rehash). This
        compare-and-set is what makes a reset single-use across processes.

        This stand-in reads the user with ``get`` and writes it back with ``update``, holding
        a lock of this process for that user in between. Why that is safe in one process and
        only there: every password write of the library goes through this method, so two
        resets (or a reset and a log-in rehash) of one user in this process take turns, and
        the second sees the first's hash and returns False. Another process's write between
        the ``get`` and the ``update`` is not seen, and a change of another field made by the
        application in that instant would be overwritten: override this method with the
        store's own compare-and-set to be safe across processes.
        """
        async with _user_locks(self).held(id):
            user = await self.get(id)
            if user is None or user.hashed_password != old_hash:
                return False
            await self.update(user.model_copy(update={"hashed_password": new_hash}))
            return True


def check_user_database(db: object, *, needed: tuple[str, ...]) -> None:
    """Refuse, naming the method, a database the library could not use; warn, once per class,
    when its password writes are the stand-in that is atomic within one process only.

    ``needed`` are the methods the caller's routes call besides the password write.
    """
    own_write = _written(db, "replace_password_hash")
    if not own_write and isinstance(db, BaseUserDatabase):
        needed = (*needed, "get", "update")  # what the stand-in reads and writes with
    missing = [name for name in dict.fromkeys(needed) if not _written(db, name)]
    if not own_write and not isinstance(db, BaseUserDatabase):
        missing.append("replace_password_hash")
    if missing:
        raise TypeError(
            f"{type(db).__name__} cannot serve as the user database: it does not write "
            + ", ".join(f"{name}{_SIGNATURES[name]}" for name in missing)
            + ". Write each as a coroutine (async def) on your subclass of BaseUserDatabase."
        )
    if not own_write and type(db) not in _warned_classes:
        _warned_classes.add(type(db))
        warnings.warn(
            _NOT_ATOMIC.format(name=type(db).__name__),
            PasswordWriteNotAtomicWarning,
            stacklevel=3,
        )


_SIGNATURES = {
    "get": "(id)",
    "get_by_email": "(email)",
    "create": "(user)",
    "update": "(user)",
    "delete": "(user)",
    "replace_password_hash": "(id, old_hash, new_hash)",
}
_warned_classes: set[type] = set()
_NOT_ATOMIC = (
    "{name} has no replace_password_hash of its own, so the library writes passwords with "
    "get() then update() under a lock of this process: a reset token is single-use within one "
    "process only. With several worker processes or machines, write "
    "replace_password_hash(id, old_hash, new_hash) as one compare-and-set of your store (SQL: "
    "UPDATE ... SET hashed_password = :new WHERE id = :id AND hashed_password = :old). See "
    "docs/databases.md."
)


def _written(db: object, name: str) -> bool:
    """Whether ``db`` has this method, other than `BaseUserDatabase`'s stub or stand-in."""
    method = getattr(type(db), name, None)
    if method is None:
        method = getattr(db, name, None)  # set on the instance
        return callable(method)
    return callable(method) and method is not getattr(BaseUserDatabase, name, None)


class _UserLocks:
    """One lock per user id, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Any, tuple[anyio.Lock, int]] = {}

    @asynccontextmanager
    async def held(self, key: Any) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (anyio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def _user_locks(db: object) -> _UserLocks:
    # Kept on the instance, created on first use: a 5-7 subclass may never call __init__.
    locks: _UserLocks | None = db.__dict__.get("_password_write_locks")
    if locks is None:
        locks = _UserLocks()
        db.__dict__["_password_write_locks"] = locks
    return locks
