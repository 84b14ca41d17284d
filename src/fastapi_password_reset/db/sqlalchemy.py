"""Users in a SQL database through SQLAlchemy 2 (asyncio): SQLite, PostgreSQL and others.

Install with ``pip install 'fastapi-password-reset[sqlalchemy]'`` (adds SQLAlchemy, aiosqlite
and asyncpg).
"""

from __future__ import annotations

import uuid
from typing import Any, Generic

from pydantic import UUID4
from sqlalchemy import Boolean, Index, String, Uuid, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from fastapi_password_reset.db.base import UD
from fastapi_password_reset.exceptions import UserAlreadyExistsError, UserNotFoundError
from fastapi_password_reset.models import MAX_EMAIL_LENGTH


class SQLAlchemyBaseUserTable:
    """The columns of a user, to combine with an application's declarative base.

    ``class UserTable(SQLAlchemyBaseUserTable, Base): pass``. E-mails are unique regardless of
    case: a unique index on ``lower(email)``, which SQLite and PostgreSQL both enforce.
    """

    __tablename__ = "user"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    email: Mapped[str] = mapped_column(String(MAX_EMAIL_LENGTH), nullable=False)
    hashed_password: Mapped[str] = mapped_column(String(1024), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    is_verified: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        name = f"ix_{cls.__tablename__}_email_lower"
        return (Index(name, text("lower(email)"), unique=True),)


class SQLAlchemyUserDatabase(Generic[UD]):
    """`BaseUserDatabase` over an async SQLAlchemy session factory.

    Each call runs in a transaction of its own: an update either stores the whole user or,
    on any failure, leaves the stored row as it was (the old password hash included).
    """

    def __init__(
        self,
        user_db_model: type[UD],
        session_factory: async_sessionmaker[AsyncSession],
        user_table: type[SQLAlchemyBaseUserTable],
    ) -> None:
        self.user_db_model = user_db_model
        self.session_factory = session_factory
        self.table = user_table
        self._columns = {column.key for column in user_table.__table__.columns}  # type: ignore[attr-defined]

    def _row_values(self, user: UD) -> dict[str, Any]:
        return {k: v for k, v in user.model_dump().items() if k in self._columns}

    def _to_model(self, row: SQLAlchemyBaseUserTable | None) -> UD | None:
        if row is None:
            return None
        values = {column: getattr(row, column) for column in self._columns}
        return self.user_db_model.model_validate(values)

    async def get(self, id: UUID4) -> UD | None:
        async with self.session_factory() as session:
            return self._to_model(await session.get(self.table, id))

    async def get_by_email(self, email: str) -> UD | None:
        query = select(self.table).where(func.lower(self.table.email) == email.lower())
        async with self.session_factory() as session:
            return self._to_model((await session.execute(query)).scalar_one_or_none())

    async def create(self, user: UD) -> UD:
        try:
            async with self.session_factory() as session, session.begin():
                session.add(self.table(**self._row_values(user)))
        except IntegrityError:
            raise UserAlreadyExistsError(user.id) from None
        return user

    async def update(self, user: UD) -> UD:
        values = self._row_values(user)
        del values["id"]
        statement = update(self.table).where(self.table.id == user.id).values(**values)
        try:
            async with self.session_factory() as session, session.begin():
                result = await session.execute(statement)
                if result.rowcount == 0:  # type: ignore[attr-defined]
                    raise UserNotFoundError(user.id)
        except IntegrityError:
            raise UserAlreadyExistsError(user.id) from None
        return user

    async def delete(self, user: UD) -> None:
        async with self.session_factory() as session, session.begin():
            await session.execute(delete(self.table).where(self.table.id == user.id))
