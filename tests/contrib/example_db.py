"""The database half of fastapi-users 15's "Full example" for SQLAlchemy (its ``app/db.py``).

Two changes, both for tests: the engine is made per application rather than at import (every
test gets its own database), and a second user table has integer ids, the other id type the
fastapi-users documentation shows.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi_users_db_sqlalchemy import SQLAlchemyBaseUserTable, SQLAlchemyBaseUserTableUUID
from sqlalchemy import Integer, MetaData
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UUIDBase(DeclarativeBase):
    pass


class UUIDUser(SQLAlchemyBaseUserTableUUID, UUIDBase):
    """The documented table: a UUID primary key."""


class IntBase(DeclarativeBase):
    pass


class IntUser(SQLAlchemyBaseUserTable[int], IntBase):
    """The documented integer variant: the table declares its own autoincrement key."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)


@dataclass
class Database:
    """An engine on one database and the session dependency the example builds on it."""

    url: str
    metadata: MetaData
    engine: AsyncEngine = field(init=False)
    sessions: async_sessionmaker[AsyncSession] = field(init=False)

    def __post_init__(self) -> None:
        self.engine = create_async_engine(self.url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def create_tables(self) -> None:
        """What the example's lifespan does (it has no migrations)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.create_all)

    async def get_async_session(self) -> AsyncIterator[AsyncSession]:
        """The first link of the dependency chain: one session per request."""
        async with self.sessions() as session:
            yield session
