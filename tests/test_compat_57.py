"""A fastapi-users 5-7 application runs unchanged: its own user database, hooks and token
decoding (tests/app_57.py), in process and under ``uvicorn --workers 4``."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import anyio
import httpx
import jwt
import pytest

from fastapi_password_reset import PasswordWriteNotAtomicWarning
from fastapi_password_reset.db import BaseUserDatabase
from fastapi_password_reset.testing import settle
from tests.app_57 import SECRET, SQLiteUserDatabase, UserDB, create_app, create_schema
from tests.uvicorn_workers import PID_HEADER, eventually, uvicorn_workers

pytestmark = pytest.mark.anyio

EMAIL = "king.arthur@camelot.bt"
PASSWORD = "guinevere-and-lancelot"
NEW_PASSWORD = "the holy grail 1975"
RACERS = 24


def mails(outbox: Path) -> list[dict[str, str]]:
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text().splitlines()]


async def register(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    database, outbox = tmp_path / "users.sqlite", tmp_path / "outbox.jsonl"
    create_schema(database)
    return database, outbox


@pytest.mark.parametrize("atomic", [True, False], ids=["own-compare-and-set", "get-and-update"])
async def test_the_whole_flow_of_a_57_application(files: tuple[Path, Path], atomic: bool) -> None:
    """Register, forgot, the hook decodes ``user_id``, reset, log in; the token works once."""
    database, outbox = files
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app, fastapi_users = create_app(database, outbox, atomic=atomic)
    assert [w.category for w in caught] == ([] if atomic else [PasswordWriteNotAtomicWarning])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        user = await register(client)
        answer = await client.post("/auth/forgot-password", json={"email": EMAIL.upper()})
        assert (answer.status_code, answer.json()) == (202, None)
        await settle(fastapi_users)
        [mail] = mails(outbox)
        assert mail["to"] == EMAIL
        assert mail["user_id"] == user["id"]
        claims = jwt.decode(
            mail["token"], SECRET, audience="fastapi-users:reset", algorithms=["HS256"]
        )
        assert claims["user_id"] == claims["sub"] == user["id"]

        reset = {"token": mail["token"], "password": NEW_PASSWORD}
        answer = await client.post("/auth/reset-password", json=reset)
        assert (answer.status_code, answer.json()) == (200, None)
        again = await client.post("/auth/reset-password", json=reset)
        assert again.json() == {"detail": "RESET_PASSWORD_BAD_TOKEN"}
        await settle(fastapi_users)
        assert mails(outbox)[-1] == {"to": EMAIL, "reset": user["id"]}

        login = {"username": EMAIL, "password": NEW_PASSWORD}
        assert (await client.post("/auth/jwt/login", data=login)).status_code == 200
        login["password"] = PASSWORD
        assert (await client.post("/auth/jwt/login", data=login)).status_code == 400


class _UpdateHeldOpen(SQLiteUserDatabase):
    """The 5-7 database whose ``update`` waits, once it started, until the test lets it go."""

    def __init__(self, path: Path) -> None:
        super().__init__(UserDB, path)
        self.updating = anyio.Event()
        self.go_on = anyio.Event()

    async def update(self, user: UserDB) -> UserDB:
        self.updating.set()
        await self.go_on.wait()
        return await super().update(user)


async def test_the_stand_in_write_lets_one_of_two_racing_resets_through(
    files: tuple[Path, Path],
) -> None:
    """Without its own compare-and-set, a database's get + update are serialized per user:
    a second reset that reads while the first is writing sees the new hash and loses."""
    database, _ = files
    db = _UpdateHeldOpen(database)
    old_hash = "argon2-hash-before"
    user = UserDB(email=EMAIL, hashed_password=old_hash)
    await SQLiteUserDatabase(UserDB, database).create(user)
    results: list[bool] = []

    async def replace(new_hash: str) -> None:
        results.append(await db.replace_password_hash(user.id, old_hash, new_hash))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(replace, "first-new-hash")
        await db.updating.wait()  # the first is between its get and its update
        tasks.start_soon(replace, "second-new-hash")
        await anyio.sleep(0.05)  # the second reads now, unless it waits for the first
        db.go_on.set()
    assert sorted(results) == [False, True]
    stored = await SQLiteUserDatabase(UserDB, database).get(user.id)
    assert stored is not None and stored.hashed_password == "first-new-hash"


async def test_the_stand_in_leaves_no_lock_behind(files: tuple[Path, Path]) -> None:
    """The per-user locks exist only while a write holds or awaits them."""
    database, _ = files
    db = SQLiteUserDatabase(UserDB, database)
    user = await db.create(UserDB(email=EMAIL, hashed_password="h0"))
    for step in range(50):
        assert await db.replace_password_hash(user.id, f"h{step}", f"h{step + 1}")
    assert not await db.replace_password_hash(user.id, "h0", "never")
    assert db.__dict__["_password_write_locks"]._locks == {}


def _fastapi_users(db: object) -> Any:
    from fastapi_password_reset import FastAPIUsers
    from tests.app_57 import User, UserCreate, UserUpdate

    return FastAPIUsers(db, [], User, UserCreate, UserUpdate, UserDB)  # type: ignore[arg-type]


class _Only(BaseUserDatabase[UserDB]):
    async def get(self, id: Any) -> UserDB | None:
        return None


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ({"get_by_email"}, "get_by_email(email)"),
        ({"get"}, "get(id)"),
        ({"update"}, "update(user)"),
        ({"get_by_email", "update"}, "get_by_email(email), update(user)"),
    ],
)
def test_a_database_missing_a_method_is_refused_at_start_up_by_name(
    missing: set[str], named: str
) -> None:
    """A subclass that leaves a needed method to the base class is refused when built."""

    async def method(self: object, *args: object) -> None:
        return None

    written = {"get", "get_by_email", "create", "update", "delete"} - missing
    database_class = type("MyDatabase", (BaseUserDatabase,), dict.fromkeys(written, method))
    with pytest.raises(TypeError, match=rf"MyDatabase .* does not write {re.escape(named)}\."):
        _fastapi_users(database_class(UserDB))


def test_a_database_without_create_is_refused_by_the_register_router() -> None:
    """Resets need no ``create``: only the register router asks for it."""

    class NoCreate(SQLiteUserDatabase):
        create = BaseUserDatabase.create

    with pytest.warns(PasswordWriteNotAtomicWarning):
        users = _fastapi_users(NoCreate(UserDB, Path("unused")))
    with pytest.raises(TypeError, match=r"does not write create\(user\)"):
        users.get_register_router()


def test_an_object_that_is_no_subclass_needs_its_own_compare_and_set() -> None:
    """Duck typing works, but the stand-in write is the base class's: without it, refused."""

    class Duck:
        async def get(self, id: Any) -> None: ...

        async def get_by_email(self, email: str) -> None: ...

    with pytest.raises(TypeError, match=r"replace_password_hash\(id, old_hash, new_hash\)"):
        _fastapi_users(Duck())

    class DuckWithWrite(Duck):
        async def replace_password_hash(self, id: Any, old: str, new: str) -> bool:
            return False

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _fastapi_users(DuckWithWrite())


def test_the_warning_comes_once_per_database_class(tmp_path: Path) -> None:
    """A second FastAPIUsers over the same kind of database does not warn again."""

    class Fresh(SQLiteUserDatabase):
        pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _fastapi_users(Fresh(UserDB, tmp_path))
        _fastapi_users(Fresh(UserDB, tmp_path))
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "Fresh" in message and "one process" in message
    assert "replace_password_hash(id, old_hash, new_hash)" in message


async def test_a_write_that_returns_no_bool_answers_not_saved_and_keeps_the_token(
    files: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A stub ``replace_password_hash`` (returning None) is an error with its name, not a
    silent "already used"; the token stays usable once the database is fixed."""
    database, outbox = files
    app, fastapi_users = create_app(database, outbox, atomic=True)
    db = fastapi_users.db
    real_write = db.replace_password_hash

    async def stub(id: Any, old_hash: str, new_hash: str) -> None:
        return None

    db.replace_password_hash = stub  # type: ignore[method-assign,assignment]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        await register(client)
        await client.post("/auth/forgot-password", json={"email": EMAIL})
        await settle(fastapi_users)
        reset = {"token": mails(outbox)[0]["token"], "password": NEW_PASSWORD}
        answer = await client.post("/auth/reset-password", json=reset)
        assert (answer.status_code, answer.json()) == (500, {"detail": "RESET_PASSWORD_NOT_SAVED"})
        assert "replace_password_hash returned NoneType" in caplog.text
        db.replace_password_hash = real_write  # type: ignore[method-assign]
        answer = await client.post("/auth/reset-password", json=reset)
        assert answer.status_code == 200


async def test_a_token_whose_user_id_disagrees_with_its_subject_is_refused(
    files: tuple[Path, Path],
) -> None:
    """``user_id`` is a copy of ``sub``, never a second opinion: a mismatch is a bad token."""
    database, outbox = files
    app, fastapi_users = create_app(database, outbox, atomic=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        await register(client)
        await client.post("/auth/forgot-password", json={"email": EMAIL})
        await settle(fastapi_users)
        token = mails(outbox)[0]["token"]
        claims = jwt.decode(token, SECRET, audience="fastapi-users:reset", algorithms=["HS256"])
        other = {**claims, "user_id": "00000000-0000-4000-8000-000000000000"}
        without = {key: value for key, value in claims.items() if key != "user_id"}
        answers = []
        for payload in [other, without]:
            forged = jwt.encode(payload, SECRET, algorithm="HS256")
            reset = {"token": forged, "password": NEW_PASSWORD}
            answers.append((await client.post("/auth/reset-password", json=reset)).status_code)
        # A token issued before the claim existed (no user_id) is still accepted.
        assert answers == [400, 200]


@pytest.mark.parametrize("workers", [4])
async def test_under_uvicorn_workers_a_57_database_with_its_compare_and_set_resets_once(
    files: tuple[Path, Path], tmp_path: Path, workers: int
) -> None:
    """RACERS concurrent resets with one token over four worker processes, all held by the
    password policy after they read the token and before they write: exactly one 200."""
    database, outbox = files
    settings = {
        "APP57_DATABASE": str(database),
        "APP57_OUTBOX": str(outbox),
        "APP57_ATOMIC": "1",
        "APP57_POLICY_SECONDS": "0.5",
        # Every read of the user takes this long, so a write built from a read and an update
        # (the stand-in) would let the racers all read the old hash before any writes.
        "APP57_READ_SECONDS": "0.3",
    }
    log = tmp_path / "uvicorn.log"
    limits = httpx.Limits(max_connections=RACERS, max_keepalive_connections=RACERS)
    async with (
        uvicorn_workers("tests.app_57:app", settings, log, workers=workers) as server,
        httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as client,
    ):
        await register(client)
        assert (
            await client.post("/auth/forgot-password", json={"email": EMAIL})
        ).status_code == 202
        await eventually(lambda: len(mails(outbox)) == 1, 10, "the reset mail")
        reset = {"token": mails(outbox)[0]["token"], "password": NEW_PASSWORD}
        go = anyio.Event()
        answers: list[httpx.Response] = []

        async def attempt() -> None:
            await go.wait()
            answers.append(await client.post("/auth/reset-password", json=reset))

        async with anyio.create_task_group() as tasks:
            for _ in range(RACERS):
                tasks.start_soon(attempt)
            await anyio.sleep(0.1)  # every racer is waiting on the event
            go.set()
        statuses = sorted(answer.status_code for answer in answers)
        workers_seen = {answer.headers[PID_HEADER] for answer in answers}
        assert len(workers_seen) >= 2, f"the resets did not spread over workers: {statuses}"
        assert statuses == [200] + [400] * (RACERS - 1), f"{workers_seen}"
        await eventually(lambda: len(mails(outbox)) == 2, 10, "the after-reset hook")


def test_optional_fields_of_user_models_default_to_none_as_in_pydantic_1() -> None:
    """``first_name: Optional[str]`` was optional on the pydantic 1 of fastapi-users 5-7."""
    from typing import Optional

    from fastapi_password_reset import models

    class Profile(models.BaseUser):
        first_name: Optional[str]  # noqa: UP045
        nickname: str | None
        age: int

    class ProfileDB(Profile, models.BaseUserDB):
        pass

    class ProfileCreate(models.BaseUserCreate):
        first_name: Optional[str]  # noqa: UP045

    # pydantic's mypy plugin reads these fields as pydantic 2 does (required): at run time
    # they are optional, which is what this test checks.
    user = ProfileDB(email="a@example.com", hashed_password="h", age=3)  # type: ignore[call-arg]
    assert (user.first_name, user.nickname) == (None, None)
    created = ProfileCreate(email="a@example.com", password="p")  # type: ignore[call-arg]
    assert created.first_name is None
    with pytest.raises(ValueError, match="age"):
        Profile(email="a@example.com")  # type: ignore[call-arg] # a field that cannot be None stays required
    assert Profile.model_json_schema()["required"] == ["email", "age"]


@pytest.mark.parametrize("flag", ["is_active", "is_superuser", "is_verified"])
@pytest.mark.parametrize("value", [0, 1, "true", None])
async def test_register_refuses_a_flag_that_is_not_a_boolean(
    files: tuple[Path, Path], flag: str, value: object
) -> None:
    """``"is_verified": 0`` is a 422 naming the field, not silently taken as false."""
    database, outbox = files
    app, _ = create_app(database, outbox, atomic=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        body = {"email": EMAIL, "password": PASSWORD, flag: value}
        answer = await client.post("/auth/register", json=body)
        assert answer.status_code == 422
        assert [error["loc"] for error in answer.json()["detail"]] == [["body", flag]]
        assert PASSWORD not in answer.text
        assert (await SQLiteUserDatabase(UserDB, database).get_by_email(EMAIL)) is None
