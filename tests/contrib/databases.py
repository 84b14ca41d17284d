"""A fresh, empty database for every application: a SQLite file or a PostgreSQL database.

The stock and the swapped application of one comparison must not share users or tokens, so
each gets its own database rather than its own tables in a shared one.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Literal

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DatabaseKind = Literal["sqlite", "postgresql"]
DATABASE_KINDS: list[DatabaseKind] = ["sqlite", "postgresql"]


class FreshDatabases:
    """Makes empty databases of one kind and drops them at the end."""

    def __init__(self, kind: DatabaseKind, directory: Path, server_url: str | None) -> None:
        if kind == "postgresql" and server_url is None:
            raise ValueError("a PostgreSQL database needs the server's URL")
        self.kind = kind
        self.directory = directory
        self.server_url = server_url
        self._created: list[str] = []
        self._admin: AsyncEngine | None = None

    async def new_url(self) -> str:
        """The async SQLAlchemy URL of a new, empty database."""
        name = f"contrib_{uuid.uuid4().hex[:16]}"
        if self.kind == "sqlite":
            return f"sqlite+aiosqlite:///{self.directory / name}.db"
        admin = self._admin_engine()
        # CREATE DATABASE cannot run inside a transaction: the admin engine autocommits.
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        self._created.append(name)
        assert self.server_url is not None
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    async def drop_all(self) -> None:
        """Drop what `new_url` created; the applications' engines must be disposed first."""
        if self._admin is None:
            return
        async with self._admin.connect() as connection:
            for name in self._created:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._created.clear()
        await self._admin.dispose()
        self._admin = None

    def _admin_engine(self) -> AsyncEngine:
        if self._admin is None:
            assert self.server_url is not None
            self._admin = create_async_engine(self.server_url, isolation_level="AUTOCOMMIT")
        return self._admin
