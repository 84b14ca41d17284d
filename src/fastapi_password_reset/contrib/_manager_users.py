"""A fastapi-users ``UserManager`` seen as the user lookup and password hasher of the flow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi_users import exceptions
from fastapi_users.manager import BaseUserManager
from sqlalchemy import CursorResult, update
from sqlalchemy.ext.asyncio import AsyncSession

from fastapi_password_reset.password import run_hashing


class UnsupportedUserDatabaseError(TypeError):
    """The manager's user database offers no compare-and-set of the password hash."""


class ManagerUsers:
    """Users looked up through the manager, as fastapi-users' own reset router does.

    ``get_by_email`` and ``get`` go through the manager, so a manager that overrides them
    (a case-insensitive lookup, a soft-delete filter) is honoured. The password is written by
    `replace_password_hash`, a compare-and-set of the hash column alone.
    """

    def __init__(self, manager: BaseUserManager[Any, Any]) -> None:
        self.manager = manager

    async def get(self, id: Any) -> Any | None:
        try:
            # Parsed from its text, as fastapi-users parses a token's subject: an id of the
            # other kind (an int for a UUID table, a UUID for an int one) names no user
            # instead of reaching the database as a type error.
            parsed = self.manager.parse_id(str(id))
        except (exceptions.InvalidID, AttributeError, TypeError, ValueError):
            return None
        try:
            return await self.manager.get(parsed)
        except exceptions.UserNotExists:
            return None

    async def get_by_email(self, email: str) -> Any | None:
        try:
            return await self.manager.get_by_email(email)
        except exceptions.UserNotExists:
            return None

    async def replace_password_hash(self, id: Any, old_hash: str, new_hash: str) -> bool:
        """``UPDATE user SET hashed_password = new WHERE id = :id AND hashed_password = old``.

        Safe under concurrency: the database evaluates the condition on the row as it is when
        the update takes it (PostgreSQL re-checks it after waiting for a concurrent writer;
        SQLite writes one transaction at a time), so of two resets with one token, or a reset
        racing a password change, only one can match. Nothing but the hash is written: an
        e-mail change or deactivation made meanwhile is kept. The session's copy of the user
        is then reloaded, as fastapi-users' own update does, so hooks see the stored row.
        """
        from fastapi_users_db_sqlalchemy import SQLAlchemyUserDatabase

        user_db = self.manager.user_db
        if not isinstance(user_db, SQLAlchemyUserDatabase):
            raise UnsupportedUserDatabaseError(
                f"{type(user_db).__name__} is not supported: the reset writes the password "
                "by compare-and-set, which fastapi_password_reset.contrib.fastapi_users does "
                "through fastapi-users-db-sqlalchemy's SQLAlchemyUserDatabase"
            )
        table, session = user_db.user_table, user_db.session
        statement = (
            update(table)
            .where(table.id == id, table.hashed_password == old_hash)
            .values(hashed_password=new_hash)
            # The session's copy still holds the old hash: never let it be guessed at.
            .execution_options(synchronize_session=False)
        )
        # An UPDATE's result is a cursor result: it has the count of rows matched.
        result = cast("CursorResult[Any]", await session.execute(statement))
        await session.commit()
        if result.rowcount != 1:
            return False
        await session.get(table, id, populate_existing=True)
        return True

    def releasing_connection(
        self, hook: Callable[..., Awaitable[None]]
    ) -> Callable[..., Awaitable[None]]:
        """``hook``, called once the lookup's database connection went back to the pool.

        A mail hook may take seconds, and under a flood up to ``max_running`` of them wait
        at once: holding a pooled connection each would starve the application's own
        requests (a pool holds 5 + 10 by default). The session is the job's own (made for
        it alone) and has only read: its transaction is ended, without expiring what it
        loaded, so the user stays attached and loaded, and a hook that loads a relationship
        or writes through the manager opens a new transaction as usual.
        """
        user_db = self.manager.user_db

        async def released_then_hook(*args: Any) -> None:
            session = getattr(user_db, "session", None)
            if isinstance(session, AsyncSession):
                await _end_read_transaction(session)
            await hook(*args)

        return released_then_hook


async def _end_read_transaction(session: AsyncSession) -> None:
    """Commit a transaction that only read, keeping its objects loaded (its connection goes
    back to the pool); a session with changes of its own is left as it is."""
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    sync_session = session.sync_session
    expire_on_commit, sync_session.expire_on_commit = sync_session.expire_on_commit, False
    try:
        await session.commit()
    finally:
        sync_session.expire_on_commit = expire_on_commit


class ManagerPasswordHasher:
    """The manager's own password helper (what its log-in verifies with), run off the loop.

    fastapi-users hashes on the event loop; here the same function runs on the library's
    bounded pool of low-priority hashing threads.
    """

    def __init__(self, manager: BaseUserManager[Any, Any]) -> None:
        self._hash = manager.password_helper.hash

    async def hash(self, password: str) -> str:
        """The hash; a password the hasher cannot take (bcrypt's 72-byte limit) is refused
        as a policy would refuse it, a 400 that leaves the token usable, not a 500."""
        try:
            hashed: str = await run_hashing(self._hash, password)
        except ValueError:
            raise exceptions.InvalidPasswordException(
                reason="The password hasher cannot take this password"
            ) from None
        return hashed
