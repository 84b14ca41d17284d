"""Users in a SQL database through SQLAlchemy 2 (asyncio): SQLite, PostgreSQL and others.

Install with ``pip install '.[sqlite]'`` in a clone of the repository (SQLAlchemy and
aiosqlite) or ``'.[postgresql]'`` (SQLAlchemy and asyncpg).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from pydantic import UUID4

from fastapi_password_reset._install import install_hint

try:
    from sqlalchemy import (
        Boolean,
        Connection,
        String,
        Table,
        Uuid,
        delete,
        inspect,
        select,
        update,
    )
    from sqlalchemy.exc import IntegrityError, SQLAlchemyError, StatementError
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
    from sqlalchemy.orm import Mapped, mapped_column
except ImportError as missing:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "fastapi_password_reset.db.sqlalchemy needs SQLAlchemy and a driver: "
        f"{install_hint('sqlite')}; the postgresql extra instead of sqlite brings asyncpg"
    ) from missing

from fastapi_password_reset.db.base import UD, BaseUserDatabase, canonical_email
from fastapi_password_reset.exceptions import (
    UserAlreadyExistsError,
    UserDatabaseError,
    UserNotFoundError,
)
from fastapi_password_reset.models import MAX_EMAIL_LENGTH

# Drivers quote values in some messages (asyncpg: "invalid input for query argument $2:
# '<value>…'"); whatever is quoted is masked, the rest of the message is kept.
_QUOTED = re.compile(r"'[^']*'?|\"[^\"]*\"?")

# How SQLite (sqlite3, aiosqlite) and PostgreSQL (asyncpg) say that a table is missing.
_NO_TABLE = re.compile(r"no such table|UndefinedTable|relation \S+ does not exist", re.IGNORECASE)

# How they say that a column is missing, its name in the first group that matched: SQLite in a
# query, SQLite in an INSERT, PostgreSQL ('column user.email_key' in a query, 'column
# "email_key" of relation "user"' in a write). Checked before _NO_TABLE, whose PostgreSQL
# wording ends the same way.
_NO_COLUMN = re.compile(
    r"no such column: (?:\w+\.)?(\w+)"
    r"|has no column named (\w+)"
    r"|column (?:\w+\.)?\"?(\w+)\"?(?: of relation \S+)? does not exist",
    re.IGNORECASE,
)

# Where the documentation says how to bring an older table up to date.
_UPGRADE_SECTION = "docs/databases.md#upgrading-a-table-from-01-or-fastapi-users"

# NFKC case folding can make a key several times longer than the address it comes from.
_EMAIL_KEY_LENGTH = 8 * MAX_EMAIL_LENGTH


class SQLAlchemyBaseUserTable:
    """The columns of a user, to combine with an application's declarative base.

    ``class UserTable(SQLAlchemyBaseUserTable, Base): pass``. ``email_key`` holds the
    address's `canonical_email`, computed in Python and uniquely indexed, so that SQLite and
    PostgreSQL compare addresses exactly as the in-memory store does.
    """

    __tablename__ = "user"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    email: Mapped[str] = mapped_column(String(MAX_EMAIL_LENGTH), nullable=False)
    email_key: Mapped[str] = mapped_column(
        String(_EMAIL_KEY_LENGTH), nullable=False, unique=True, index=True
    )
    hashed_password: Mapped[str] = mapped_column(String(1024), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class SQLAlchemyUserDatabase(BaseUserDatabase[UD]):
    """`BaseUserDatabase` over an async SQLAlchemy session factory.

    Each call runs in a transaction of its own: an update either stores the whole user or,
    on any failure, leaves the stored row as it was. `replace_password_hash` is one
    ``UPDATE … SET hashed_password = :new WHERE id = :id AND hashed_password = :old``: the
    database serialises concurrent ones on the row, so exactly one of them matches.

    Errors leave as `UserDatabaseError` naming the operation and the driver's error, without
    SQLAlchemy's message, which quotes the statement's parameters (password hashes among them)
    unless the engine was created with ``hide_parameters=True``, and with any quoted value in
    the driver's message masked.
    """

    def __init__(
        self,
        user_db_model: type[UD],
        session_factory: async_sessionmaker[AsyncSession],
        user_table: type[SQLAlchemyBaseUserTable],
    ) -> None:
        super().__init__(user_db_model)
        self.session_factory = session_factory
        self.table = user_table
        self._columns = {column.key for column in user_table.__table__.columns}  # type: ignore[attr-defined]
        self._model_columns = self._columns - {"email_key"}

    @asynccontextmanager
    async def _transaction(
        self, operation: str, *, writing: UD | None = None
    ) -> AsyncIterator[AsyncSession]:
        """A session in a transaction; errors come out without the statement's parameters.

        With ``writing``, a unique-key violation means that user's e-mail is taken.
        """
        try:
            async with self.session_factory() as session, session.begin():
                yield session
        except IntegrityError:
            if writing is not None:
                raise UserAlreadyExistsError(writing.id) from None
            raise UserDatabaseError(f"{operation} failed: integrity error") from None
        except SQLAlchemyError as exc:
            cause = type(exc).__name__
            if isinstance(exc, StatementError):
                driver_message = str(exc.orig)
                cause = f"{type(exc.orig).__name__}: {_QUOTED.sub('…', driver_message)}"
                cause += self._advice(driver_message, cause)
            raise UserDatabaseError(f"{operation} failed: {cause}") from None

    def _advice(self, driver_message: str, cause: str) -> str:
        """What to do about a table that is missing or older than this adapter, if that is
        what went wrong.

        Only a column name is taken from the driver's own message (unmasked, since PostgreSQL
        quotes it): a name of the table's columns, never a value.
        """
        table = self.table.__tablename__
        missing = _NO_COLUMN.search(driver_message)
        if missing is not None:
            column = next(name for name in missing.groups() if name)
            if column in self._columns:
                return "; " + _older_table(f"the {table!r} table", [column])
        if _NO_TABLE.search(cause):
            return (
                f"; the {table!r} table does not exist: create it with "
                "`await create_tables(engine, UserTable)` (see the docs on user databases)"
            )
        return ""

    def _row_values(self, user: UD) -> dict[str, Any]:
        values = {k: v for k, v in user.model_dump().items() if k in self._columns}
        values["email_key"] = canonical_email(user.email)
        return values

    def _to_model(self, row: SQLAlchemyBaseUserTable | None) -> UD | None:
        if row is None:
            return None
        values = {column: getattr(row, column) for column in self._model_columns}
        return self.user_db_model.model_validate(values)

    async def get(self, id: UUID4) -> UD | None:
        if not isinstance(id, UUID):
            return None  # a signed token may name an integer id: these users have UUIDs
        async with self._transaction("get") as session:
            return self._to_model(await session.get(self.table, id))

    async def get_by_email(self, email: str) -> UD | None:
        query = select(self.table).where(self.table.email_key == canonical_email(email))
        async with self._transaction("get_by_email") as session:
            return self._to_model((await session.execute(query)).scalar_one_or_none())

    async def create(self, user: UD) -> UD:
        async with self._transaction("create", writing=user) as session:
            session.add(self.table(**self._row_values(user)))
        return user

    async def update(self, user: UD) -> UD:
        values = self._row_values(user)
        del values["id"]
        statement = update(self.table).where(self.table.id == user.id).values(**values)
        async with self._transaction("update", writing=user) as session:
            result = await session.execute(statement)
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise UserNotFoundError(user.id)
        return user

    async def replace_password_hash(self, id: UUID4, old_hash: str, new_hash: str) -> bool:
        statement = (
            update(self.table)
            .where(self.table.id == id, self.table.hashed_password == old_hash)
            .values(hashed_password=new_hash)
        )
        async with self._transaction("replace_password_hash") as session:
            result = await session.execute(statement)
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def delete(self, user: UD) -> None:
        async with self._transaction("delete") as session:
            await session.execute(delete(self.table).where(self.table.id == user.id))


def _older_table(which: str, columns: list[str]) -> str:
    lacks = f"no {columns[0]} column" if len(columns) == 1 else f"no columns {', '.join(columns)}"
    origin = (
        "it was made by version 0.1 or by fastapi-users"
        if "email_key" in columns
        else "the table class declares them"
    )
    return f"{which} has {lacks}: {origin}; upgrade it as {_UPGRADE_SECTION} says"


def _missing_columns(connection: Connection, table: Table) -> list[str] | None:
    """The columns of ``table`` that the stored table lacks; None if there is no such table."""
    inspector = inspect(connection)
    if not inspector.has_table(table.name, schema=table.schema):
        return None
    stored = {column["name"] for column in inspector.get_columns(table.name, schema=table.schema)}
    return [column.name for column in table.columns if column.name not in stored]


async def create_tables(engine: AsyncEngine, *tables: type[SQLAlchemyBaseUserTable]) -> None:
    """Create the given user tables (and their indexes) where they do not exist yet.

    For a first run and for tests; an application with migrations (Alembic) adds the table
    there instead. An existing table is left as it is, but one that lacks a column of
    ``table`` (as a table of version 0.1 or of fastapi-users lacks ``email_key``) raises
    `UserDatabaseError` naming it and the upgrade in the documentation, rather than leaving
    every later query to fail.
    """
    async with engine.begin() as connection:
        for table in tables:
            declared: Table = table.__table__  # type: ignore[attr-defined]
            missing = await connection.run_sync(_missing_columns, declared)
            if missing:
                raise UserDatabaseError(
                    "create_tables: "
                    + _older_table(f"the existing {declared.name!r} table", missing)
                )
            await connection.run_sync(declared.create, checkfirst=True)
