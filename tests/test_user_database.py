"""The user database contract, run against memory, SQLite and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fakeredis
import httpx
import pytest
from sqlalchemy import Boolean, Column, Index, MetaData, String, Table, Uuid, event, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from fastapi_password_reset import UserAlreadyExistsError, UserDatabaseError, UserNotFoundError
from fastapi_password_reset.db import canonical_email
from fastapi_password_reset.db.sqlalchemy import SQLAlchemyUserDatabase, create_tables
from fastapi_password_reset.tokens import RedisResetTokenStrategy
from tests.conftest import (
    NEW_PASSWORD,
    PASSWORD,
    SECRET,
    Outbox,
    UserDB,
    UserTable,
    build_app,
    sql_database,
    unique_prefix,
)
from tests.doc_programs import ROOT, run_in_order

pytestmark = pytest.mark.anyio


def new_user(
    email: str = "Alice@Example.com",
    hashed_password: str = "$argon2id$v=19$m=8,t=1,p=1$hash",
    **fields: Any,
) -> UserDB:
    return UserDB(email=email, hashed_password=hashed_password, **fields)


def database_url(database: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of the named kind: a new SQLite file, or the session's PostgreSQL."""
    if database == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'users.db'}"
    return str(request.getfixturevalue("postgres").url)


async def test_a_created_user_is_found_by_id_and_by_email_in_any_case(user_db: Any) -> None:
    """get and get_by_email (case-insensitive) return what create stored."""
    user = await user_db.create(new_user())
    assert await user_db.get(user.id) == user
    assert await user_db.get_by_email("alice@example.com") == user
    assert await user_db.get_by_email("ALICE@EXAMPLE.COM") == user
    assert await user_db.get_by_email("bob@example.com") is None
    assert await user_db.get(uuid.uuid4()) is None


async def test_emails_are_unique_regardless_of_case(user_db: Any) -> None:
    """A second user with the same address in another case is refused."""
    await user_db.create(new_user("alice@example.com"))
    with pytest.raises(UserAlreadyExistsError):
        await user_db.create(new_user("ALICE@example.com"))
    with pytest.raises(UserAlreadyExistsError):
        await user_db.create(new_user("alice@example.com"))


@pytest.mark.parametrize(
    ("stored", "variant"),
    [
        ("Émile@example.com", "émile@example.com"),
        ("ÉMILE@EXAMPLE.COM", "émile@Example.com"),
        ("straße@example.com", "STRASSE@example.com"),
        ("Ωmega@example.com", "ωMEGA@example.com"),
        ("ﬁona@example.com", "fiona@example.com"),
        ("\uff41lice@example.com", "alice@example.com"),  # a full-width "a"
    ],
)
async def test_unicode_case_variants_are_one_account(
    user_db: Any, stored: str, variant: str
) -> None:
    """Non-ASCII case variants find the same user and cannot register twice, in every store."""
    user = await user_db.create(new_user(stored))
    assert await user_db.get_by_email(variant) == user
    assert await user_db.get_by_email(stored) == user
    with pytest.raises(UserAlreadyExistsError):
        await user_db.create(new_user(variant))


def test_the_canonical_key_folds_unicode_case_and_compatibility_forms() -> None:
    """canonical_email is NFKC case folding: one key for every spelling of one address."""
    assert canonical_email("Émile@Example.COM") == canonical_email("émile@example.com")
    assert canonical_email("E\u0301mile@x.org") == canonical_email("émile@x.org")
    assert canonical_email("Straße@x.org") == "strasse@x.org"
    assert canonical_email("alice@x.org") != canonical_email("alíce@x.org")


async def test_replace_password_hash_is_a_compare_and_set(user_db: Any) -> None:
    """Only the hash changes, only if it is still the old one; an unknown user gives False."""
    user = await user_db.create(new_user())
    renamed = user.model_copy(update={"email": "renamed@example.com", "is_active": False})
    await user_db.update(renamed)
    assert await user_db.replace_password_hash(user.id, "$argon2id$stale", "$argon2id$x") is False
    assert await user_db.replace_password_hash(user.id, user.hashed_password, "$argon2id$new")
    assert (
        await user_db.replace_password_hash(user.id, user.hashed_password, "$argon2id$2") is False
    )
    assert await user_db.get(user.id) == renamed.model_copy(
        update={"hashed_password": "$argon2id$new"}
    )
    assert await user_db.replace_password_hash(uuid.uuid4(), "a", "b") is False


async def test_concurrent_compare_and_sets_let_exactly_one_win(user_db: Any) -> None:
    """Twenty writers from the same old hash: one True, the others False, one hash stored."""
    user = await user_db.create(new_user())
    results = await asyncio.gather(
        *(
            user_db.replace_password_hash(user.id, user.hashed_password, f"$argon2id${i}")
            for i in range(20)
        )
    )
    assert sorted(results) == [False] * 19 + [True]
    stored = await user_db.get(user.id)
    assert stored.hashed_password == f"$argon2id${results.index(True)}"


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_sql_errors_carry_no_bound_parameters(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A failing statement surfaces as UserDatabaseError naming the operation, not the hash."""
    engine = create_async_engine(database_url(database, request, tmp_path))
    async with engine.begin() as connection:
        await connection.execute(text('DROP TABLE IF EXISTS "user"'))
    database_ = SQLAlchemyUserDatabase(UserDB, async_sessionmaker(engine), UserTable)
    secret_hash = "$argon2id$v=19$m=8,t=1,p=1$do-not-print-me"
    with pytest.raises(UserDatabaseError) as raised:
        await database_.create(new_user(hashed_password=secret_hash))
    text_ = "".join(traceback.format_exception(raised.value))
    if database == "sqlite":
        assert "create failed: OperationalError: no such table: user" in text_
    else:  # SQLAlchemy 2.0.0 puts asyncpg's class name before the message, later ones do not
        assert "create failed: ProgrammingError: " in text_
        assert "relation … does not exist" in text_
    assert "create it with `await create_tables(engine, UserTable)`" in text_
    assert secret_hash not in text_ and "do-not-print-me" not in text_
    with pytest.raises(UserDatabaseError) as raised:
        await database_.replace_password_hash(uuid.uuid4(), secret_hash, secret_hash + "2")
    assert secret_hash not in "".join(traceback.format_exception(raised.value))
    await engine.dispose()


async def test_update_stores_every_field(user_db: Any) -> None:
    """Password hash, flags and e-mail change together."""
    user = await user_db.create(new_user())
    changed = user.model_copy(
        update={
            "hashed_password": "$argon2id$new",
            "is_active": False,
            "is_verified": True,
            "email": "alice@new.example.com",
        }
    )
    await user_db.update(changed)
    assert await user_db.get(user.id) == changed
    assert await user_db.get_by_email("alice@example.com") is None
    assert await user_db.get_by_email("ALICE@new.example.com") == changed


async def test_update_refuses_a_taken_email_and_an_unknown_user(user_db: Any) -> None:
    """Taking another user's address, or updating nobody, raises and changes nothing."""
    alice = await user_db.create(new_user("alice@example.com"))
    bob = await user_db.create(new_user("bob@example.com"))
    with pytest.raises(UserAlreadyExistsError):
        await user_db.update(bob.model_copy(update={"email": "Alice@example.com"}))
    assert await user_db.get(bob.id) == bob
    with pytest.raises(UserNotFoundError):
        await user_db.update(new_user("carol@example.com"))
    assert await user_db.get(alice.id) == alice


async def test_delete_removes_the_user(user_db: Any) -> None:
    """After delete, neither lookup finds the user; the address is free again."""
    user = await user_db.create(new_user())
    await user_db.delete(user)
    assert await user_db.get(user.id) is None
    assert await user_db.get_by_email(user.email) is None
    await user_db.create(new_user())


async def test_returned_users_are_copies(user_db: Any) -> None:
    """Changing a returned user changes nothing stored until update."""
    user = await user_db.create(new_user())
    fetched = await user_db.get(user.id)
    fetched.hashed_password = "tampered"
    stored = await user_db.get(user.id)
    assert stored.hashed_password == user.hashed_password


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_a_failed_password_update_keeps_the_old_hash_and_the_token(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The UPDATE fails inside the database: 500, old hash kept, the Redis token works after."""
    url = (
        f"sqlite+aiosqlite:///{tmp_path / 'users.db'}"
        if database == "sqlite"
        else request.getfixturevalue("postgres").url
    )
    sql_db, engine = await sql_database(url)
    strategy = RedisResetTokenStrategy(fakeredis.FakeAsyncRedis(), key_prefix=unique_prefix())
    outbox = Outbox()
    app, users, _, _ = build_app(strategy, outbox, user_db=sql_db)
    hashed = await users.password_helper.hash(PASSWORD)
    user = await sql_db.create(UserDB(email="alice@example.com", hashed_password=hashed))

    def refuse_updates(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            raise ConnectionResetError("the database went away mid-update")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        await client.post("/auth/forgot-password", json={"email": user.email})
        await users.background.drain()
        token = outbox.token_for(user.email)
        event.listen(engine.sync_engine, "before_cursor_execute", refuse_updates)
        failed = await client.post(
            "/auth/reset-password", json={"token": token, "password": NEW_PASSWORD}
        )
        assert (failed.status_code, failed.json()) == (500, {"detail": "RESET_PASSWORD_NOT_SAVED"})
        stored = await sql_db.get(user.id)
        assert stored is not None
        assert stored.hashed_password == hashed
        event.remove(engine.sync_engine, "before_cursor_execute", refuse_updates)
        retried = await client.post(
            "/auth/reset-password", json={"token": token, "password": NEW_PASSWORD}
        )
        assert retried.status_code == 200
        await users.background.drain()
    stored = await sql_db.get(user.id)
    assert stored is not None
    assert stored.hashed_password != hashed
    await engine.dispose()


def _columns_without_email_key(metadata: MetaData) -> Table:
    """The columns every older user table had: this library's less its email_key."""
    return Table(
        "user",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("email", String(320), nullable=False),
        Column("hashed_password", String(1024), nullable=False),
        Column("is_active", Boolean, nullable=False),
        Column("is_superuser", Boolean, nullable=False),
        Column("is_verified", Boolean, nullable=False),
    )


def old_user_table() -> Table:
    """The user table as version 0.1 created it: no email_key, a unique index on lower(email)."""
    table = _columns_without_email_key(MetaData())
    Index("ix_user_email_lower", text("lower(email)"), unique=True, _table=table)
    return table


def fastapi_users_table() -> Table:
    """The columns of fastapi-users' SQLAlchemy user table: no email_key, email unique as typed.

    Ids as on PostgreSQL; on SQLite fastapi-users writes them as text (docs/databases.md).
    """
    table = _columns_without_email_key(MetaData())
    Index("ix_user_email", table.c.email, unique=True)
    return table


OLDER_TABLES = {"0.1": old_user_table, "fastapi-users": fastapi_users_table}
UPGRADE_SECTION = "docs/databases.md#upgrading-a-table-from-01-or-fastapi-users"
STORED_HASH = "$argon2id$v=19$m=8,t=1,p=1$stored-hash-not-for-messages"
NEW_HASH = "$argon2id$v=19$m=8,t=1,p=1$new-hash-not-for-messages"


@asynccontextmanager
async def engine_with_older_table(url: str, shape: str, user: UserDB) -> AsyncIterator[Any]:
    """An engine on a database whose user table is the ``shape`` one, holding ``user``;
    disposed after the block, whatever the test found."""
    engine = create_async_engine(url)
    table = OLDER_TABLES[shape]()
    try:
        async with engine.begin() as connection:
            await connection.execute(text('DROP TABLE IF EXISTS "user"'))
            await connection.run_sync(table.metadata.create_all)
            await connection.execute(table.insert().values(**user.model_dump()))
        yield engine
    finally:
        await engine.dispose()


@pytest.mark.parametrize("shape", sorted(OLDER_TABLES))
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_a_table_without_email_key_fails_naming_its_upgrade(
    database: str, shape: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Each call that needs email_key says the table lacks it and where the upgrade is told;
    no hash and no bound value is in the error or its traceback."""
    stored = new_user("alice@example.com", hashed_password=STORED_HASH)
    async with engine_with_older_table(
        database_url(database, request, tmp_path), shape, stored
    ) as engine:
        users = SQLAlchemyUserDatabase(UserDB, async_sessionmaker(engine), UserTable)
        newcomer = new_user("bob@example.com", hashed_password=NEW_HASH)
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "get": lambda: users.get(stored.id),
            "get_by_email": lambda: users.get_by_email("alice@example.com"),
            "create": lambda: users.create(newcomer),
            "update": lambda: users.update(stored.model_copy(update={"hashed_password": NEW_HASH})),
        }
        for operation, call in calls.items():
            with pytest.raises(UserDatabaseError) as raised:
                await call()
            message = str(raised.value)
            assert message.startswith(f"{operation} failed: "), message
            assert "the 'user' table has no email_key column" in message
            assert "made by version 0.1 or by fastapi-users" in message
            assert UPGRADE_SECTION in message
            assert "does not exist: create it" not in message  # not mistaken for a missing table
            text_ = "".join(traceback.format_exception(raised.value))
            for value in (STORED_HASH, NEW_HASH, "not-for-messages", "bob@example.com", "alice"):
                assert value not in text_, (operation, value)
            assert str(newcomer.id) not in text_ and newcomer.id.hex not in text_


@pytest.mark.parametrize("shape", sorted(OLDER_TABLES))
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_create_tables_refuses_an_existing_table_without_email_key(
    database: str, shape: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """create_tables does not pass over an older table: it names it, the column and the upgrade,
    and leaves the table and its rows as they were."""
    stored = new_user("alice@example.com", hashed_password=STORED_HASH)
    async with engine_with_older_table(
        database_url(database, request, tmp_path), shape, stored
    ) as engine:
        with pytest.raises(UserDatabaseError) as raised:
            await create_tables(engine, UserTable)
        message = str(raised.value)
        assert message.startswith(
            "create_tables: the existing 'user' table has no email_key column"
        )
        assert "made by version 0.1 or by fastapi-users" in message and UPGRADE_SECTION in message
        assert STORED_HASH not in "".join(traceback.format_exception(raised.value))
        async with engine.connect() as connection:
            rows = (await connection.execute(text('SELECT email FROM "user"'))).all()
        assert rows == [("alice@example.com",)]


@pytest.mark.parametrize("shape", sorted(OLDER_TABLES))
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_the_documented_upgrade_of_an_older_table_works(
    database: str,
    shape: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """docs/databases.md's add_email_keys, in the section the errors name, turns a 0.1 or a
    fastapi-users table into one the adapter and create_tables accept."""
    heading = "### Upgrading a table from 0.1 or fastapi-users"
    assert heading in (ROOT / "docs" / "databases.md").read_text()
    assert UPGRADE_SECTION.endswith("#upgrading-a-table-from-01-or-fastapi-users")
    user = new_user("Émile@example.com")
    async with engine_with_older_table(
        database_url(database, request, tmp_path), shape, user
    ) as engine:
        monkeypatch.setenv("SECRET", SECRET)
        namespace = run_in_order(ROOT / "docs" / "databases.md")
        namespace["engine"] = engine
        await namespace["add_email_keys"]()
        await namespace["add_email_keys"]()  # running it twice is harmless
        await create_tables(engine, UserTable)  # no longer refused
        upgraded = SQLAlchemyUserDatabase(UserDB, async_sessionmaker(engine), UserTable)
        assert await upgraded.get_by_email("émile@EXAMPLE.com") == user
        assert await upgraded.get(user.id) == user
        with pytest.raises(UserAlreadyExistsError):
            await upgraded.create(new_user("ÉMILE@example.com"))


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_create_tables_makes_the_table_once(
    database: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """create_tables on an empty database makes a working table; a second call changes nothing."""
    url = (
        f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        if database == "sqlite"
        else request.getfixturevalue("postgres").url
    )
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text('DROP TABLE IF EXISTS "user"'))
    await create_tables(engine, UserTable)
    database_ = SQLAlchemyUserDatabase(UserDB, async_sessionmaker(engine), UserTable)
    user = await database_.create(new_user())
    await create_tables(engine, UserTable)
    assert await database_.get(user.id) == user
    await engine.dispose()


def test_the_adapter_without_sqlalchemy_says_what_to_install() -> None:
    """Importing the SQL adapter without the extra names the extras to install."""
    code = (
        "import sys; sys.modules['sqlalchemy'] = None\nimport fastapi_password_reset.db.sqlalchemy"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "pip install '.[sqlite]' in a clone of the repository" in result.stderr
    assert "pip install 'fastapi-password-reset[sqlite]' once a release is on PyPI" in (
        result.stderr
    )
    assert "postgresql extra" in result.stderr
