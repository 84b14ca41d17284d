"""The library's guarantees on a fastapi-users application with the reset router swapped:
answer before lookup, single use under races, only the hash written, strategies, hooks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi_users.db import BaseUserDatabase
from fastapi_users.exceptions import InvalidPasswordException
from fastapi_users_db_sqlalchemy import SQLAlchemyUserDatabase
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from fastapi_password_reset import BackgroundWork
from fastapi_password_reset.exceptions import InsecureSecretError
from fastapi_password_reset.tokens import (
    JWTResetTokenStrategy,
    RedisResetTokenStrategy,
    ResetTokenStrategy,
    StrategyAlreadyBoundError,
)
from tests.conftest import make_redis_client, strategy_of_kind, unique_prefix
from tests.contrib.driving import NEW_PASSWORD, PASSWORD, Driver, OpenDriver
from tests.contrib.example_app import IntUserManager, RecordingUserManager, UUIDUserManager

pytestmark = pytest.mark.anyio

EMAIL = "alice@example.com"


def manager_class(driver: Driver) -> type[RecordingUserManager[Any, Any]]:
    return UUIDUserManager if driver.example.id_kind == "uuid" else IntUserManager


@pytest.fixture(params=["jwt", "redis", "redis-cluster", "codes-redis"])
async def any_strategy(request: pytest.FixtureRequest) -> AsyncIterator[ResetTokenStrategy]:
    """Link tokens as JWTs, in a real Redis and a real Redis Cluster; codes in Redis."""
    async with strategy_of_kind(request.param, request) as made:
        yield made


async def reset_with(driver: Driver, token: str, password: str = NEW_PASSWORD) -> int:
    """A reset with a link token or (for a code strategy) the code and its address."""
    body = {"token": token, "password": password}
    if len(token) < 20:
        body["email"] = EMAIL
    response = await driver.client.post("/auth/reset-password", json=body)
    await driver.example.settle()
    return response.status_code


async def test_the_whole_flow_on_every_strategy(
    open_driver: OpenDriver, any_strategy: ResetTokenStrategy
) -> None:
    """Token by the manager's hook, single use, the new password logs in, the hook is told."""
    driver = await open_driver("swapped", token_strategy=any_strategy)
    await driver.register(EMAIL)
    token = await driver.reset_token(EMAIL)
    assert await reset_with(driver, token) == 200
    assert await reset_with(driver, token, "yet another passphrase") == 400
    assert await driver.password_works(EMAIL, NEW_PASSWORD)
    assert not await driver.password_works(EMAIL, PASSWORD)
    assert [call.email for call in driver.example.hooks.named("on_after_reset_password")] == [EMAIL]


async def test_the_answer_comes_before_the_lookup(
    open_driver: OpenDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 202 is sent while the manager's lookup is still held: its timing tells nothing."""
    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    lookups, release = asyncio.Event(), asyncio.Event()
    original = RecordingUserManager.get_by_email

    async def held_lookup(self: Any, user_email: str) -> Any:
        lookups.set()
        await release.wait()
        return await original(self, user_email)

    monkeypatch.setattr(manager_class(driver), "get_by_email", held_lookup)
    answer = driver.client.post("/auth/forgot-password", json={"email": EMAIL})
    response = await asyncio.wait_for(answer, 5)
    assert response.status_code == 202
    await asyncio.wait_for(lookups.wait(), 5)
    assert driver.example.hooks.named("on_after_forgot_password") == []
    release.set()
    await driver.example.settle()
    assert len(driver.example.hooks.named("on_after_forgot_password")) == 1


async def test_of_two_racing_resets_with_one_token_exactly_one_writes(
    open_driver: OpenDriver,
) -> None:
    """The first reset is held after it read the user; the second completes; the first's
    compare-and-set then finds another hash and is refused. The JWT is only checked, never
    stored: the database's conditional write is what makes it single-use."""
    held, release = asyncio.Event(), asyncio.Event()

    async def policy(password: str, user: Any) -> None:
        if password == "the held one":
            held.set()
            await release.wait()

    driver = await open_driver("swapped", validate_password=policy)
    await driver.register(EMAIL)
    token = await driver.reset_token(EMAIL)
    first = asyncio.create_task(
        driver.client.post(
            "/auth/reset-password", json={"token": token, "password": "the held one"}
        )
    )
    await asyncio.wait_for(held.wait(), 5)
    assert (await driver.reset(token)).status_code == 200
    release.set()
    refused = await first
    assert refused.status_code == 400
    assert refused.json() == {"detail": "RESET_PASSWORD_BAD_TOKEN"}
    await driver.example.settle()
    assert await driver.password_works(EMAIL, NEW_PASSWORD)
    assert len(driver.example.hooks.named("on_after_reset_password")) == 1


async def test_a_change_made_during_a_reset_is_kept(open_driver: OpenDriver) -> None:
    """Only the hash is written: a deactivation made while the reset ran stays."""
    held, release = asyncio.Event(), asyncio.Event()

    async def policy(password: str, user: Any) -> None:
        if password == "the held one":  # not the registration's
            held.set()
            await release.wait()

    driver = await open_driver("swapped", validate_password=policy)
    await driver.register(EMAIL)
    token = await driver.reset_token(EMAIL)
    reset = asyncio.create_task(driver.reset(token, "the held one"))
    await asyncio.wait_for(held.wait(), 5)
    await driver.set_active(EMAIL, False)
    release.set()
    assert (await reset).status_code == 200
    table = driver.user_table
    async with driver.example.database.sessions() as session:
        active = await session.scalar(select(table.is_active).where(table.email == EMAIL))
    assert active is False


async def test_a_password_changed_elsewhere_kills_the_token(open_driver: OpenDriver) -> None:
    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    token = await driver.reset_token(EMAIL)
    headers = await driver.bearer(EMAIL)
    changed = await driver.client.patch(
        "/users/me", json={"password": "changed by the user"}, headers=headers
    )
    assert changed.status_code == 200
    assert (await driver.reset(token)).status_code == 400
    assert await driver.password_works(EMAIL, "changed by the user")


async def test_fastapi_users_password_policy_is_honoured(open_driver: OpenDriver) -> None:
    """Its InvalidPasswordException is the stock answer, and leaves the token usable."""

    async def policy(password: str, user: Any) -> None:
        if len(password) < 12:
            raise InvalidPasswordException("Password should be at least 12 characters")

    driver = await open_driver("swapped", validate_password=policy)
    await driver.register(EMAIL)
    token = await driver.reset_token(EMAIL)
    refused = await driver.reset(token, "short")
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": {
            "code": "RESET_PASSWORD_INVALID_PASSWORD",
            "reason": "Password should be at least 12 characters",
        }
    }
    assert (await driver.reset(token)).status_code == 200


async def test_inactive_and_unknown_accounts_get_no_mail(open_driver: OpenDriver) -> None:
    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    token = await driver.reset_token(EMAIL)
    await driver.set_active(EMAIL, False)
    assert (await driver.forgot("nobody@example.com")).status_code == 202
    assert (await driver.forgot(EMAIL)).status_code == 202
    assert len(driver.example.hooks.named("on_after_forgot_password")) == 1
    assert (await driver.reset(token)).status_code == 400


async def test_one_mail_per_interval(open_driver: OpenDriver) -> None:
    """The per-user throttle: a second request within the interval sends nothing."""
    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    await driver.reset_token(EMAIL)
    assert (await driver.forgot(EMAIL)).status_code == 202
    assert len(driver.example.hooks.named("on_after_forgot_password")) == 1


async def test_redis_tokens_are_revocable_and_hashed_at_rest(
    open_driver: OpenDriver, request: pytest.FixtureRequest
) -> None:
    """Redis keeps a keyed digest, never the token; the CLI's revocation takes the id as text."""
    client = make_redis_client("redis", request)
    prefix = unique_prefix()
    try:
        strategy = RedisResetTokenStrategy(client, key_prefix=prefix)
        driver = await open_driver("swapped", token_strategy=strategy)
        await driver.register(EMAIL)
        token = await driver.reset_token(EMAIL)
        stored = [key async for key in client.scan_iter(match=f"{prefix}*")]
        values = [await client.dump(key) for key in stored]
        random_part = token.split(".")[1].encode()
        assert stored
        assert not any(
            random_part in key or random_part in value
            for key, value in zip(stored, values, strict=True)
        )
        assert await strategy.revoke_user_tokens(await driver.user_id(EMAIL)) == 1
        assert (await driver.reset(token)).status_code == 400
    finally:
        await client.aclose()


async def test_the_user_manager_of_the_job_follows_dependency_overrides(
    open_driver: OpenDriver,
) -> None:
    """The after-answer work makes its manager as a route would: overrides apply."""
    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    database = driver.example.database
    sessions: list[AsyncSession] = []

    async def recording_session() -> AsyncIterator[AsyncSession]:
        async with database.sessions() as session:
            sessions.append(session)
            yield session

    driver.example.app.dependency_overrides[database.get_async_session] = recording_session
    await driver.reset_token(EMAIL)
    assert len(sessions) == 1
    assert not sessions[0].in_transaction()  # closed when the job ended


async def test_no_token_password_or_hash_in_logs(
    open_driver: OpenDriver, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failing hooks quote what they were given; the log shows none of it."""
    caplog.set_level(logging.DEBUG)
    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    await driver.register("bob@example.com")
    cls = manager_class(driver)
    token = await driver.reset_token(EMAIL)

    async def failing_forgot(self: Any, user: Any, token: str, request: Any = None) -> None:
        raise RuntimeError(f"mailer refused {token} to {user.email} for {user.hashed_password}")

    async def failing_reset(self: Any, user: Any, request: Any = None) -> None:
        raise RuntimeError(f"audit failed for {user.email}: {user.hashed_password}")

    monkeypatch.setattr(cls, "on_after_forgot_password", failing_forgot)
    monkeypatch.setattr(cls, "on_after_reset_password", failing_reset)
    await driver.client.post("/auth/forgot-password", json={"email": "bob@example.com"})
    assert (await driver.reset(token)).status_code == 200
    table = driver.user_table
    async with driver.example.database.sessions() as session:
        new_hash = await session.scalar(select(table.hashed_password))
    assert new_hash
    # The library's logs (a database driver's own DEBUG log quotes statement parameters).
    ours = [r for r in caplog.records if r.name.startswith("fastapi_password_reset")]
    logged = "\n".join(caplog.handler.format(r) + str(r.args) for r in ours)
    assert "mailer refused" in logged
    assert "audit failed for" in logged
    for secret in (token, NEW_PASSWORD, new_hash, "eyJ", "$argon2", EMAIL, "bob@example.com"):
        assert secret not in logged


async def test_a_database_down_during_the_job_is_logged_not_answered(
    open_driver: OpenDriver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    driver = await open_driver("swapped")
    await driver.register(EMAIL)

    async def unreachable(self: Any, user_email: str) -> Any:
        raise ConnectionRefusedError("database unreachable")

    monkeypatch.setattr(manager_class(driver), "get_by_email", unreachable)
    assert (await driver.forgot(EMAIL)).status_code == 202
    assert "user lookup failed" in caplog.text
    assert driver.example.hooks.named("on_after_forgot_password") == []


async def test_the_write_is_conditional_on_the_hash(open_driver: OpenDriver) -> None:
    """The compare-and-set itself: a stale hash matches no row and writes nothing."""
    from fastapi_password_reset.contrib._manager_users import ManagerUsers

    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    table = driver.user_table
    async with driver.example.database.sessions() as session:
        user = (await session.scalars(select(table))).one()
        current = user.hashed_password
        await session.execute(update(table).values(hashed_password="$elsewhere"))
        await session.commit()
    async with driver.example.database.sessions() as session:
        manager = manager_class(driver)(
            SQLAlchemyUserDatabase(session, table), driver.example.hooks, None
        )
        users = ManagerUsers(manager)
        assert not await users.replace_password_hash(user.id, current, "$new")
        assert await users.replace_password_hash(user.id, "$elsewhere", "$new")
        found = await users.get(user.id)
        assert found is not None and found.hashed_password == "$new"
        assert await users.get("not an id") is None


async def test_background_work_is_the_one_given(open_driver: OpenDriver) -> None:
    work = BackgroundWork(max_pending=5, max_running=1)
    driver = await open_driver("swapped", background=work)
    await driver.register(EMAIL)
    await driver.reset_token(EMAIL)
    assert work.pending == 0


async def test_tokens_of_the_stock_router_are_not_accepted(open_driver: OpenDriver) -> None:
    """A link mailed by fastapi-users' own router before the switch carries its fingerprint,
    not ours: refused, as after a secret rotation (docs/fastapi-users.md says so)."""
    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    table = driver.user_table
    async with driver.example.database.sessions() as session:
        user = (await session.scalars(select(table))).one()
        manager = manager_class(driver)(
            SQLAlchemyUserDatabase(session, table), driver.example.hooks, None
        )
        await manager.forgot_password(user)  # what the stock router does
    stock_token = driver.example.hooks.token_for("on_after_forgot_password", EMAIL)
    assert (await driver.reset(stock_token)).status_code == 400
    assert await driver.password_works(EMAIL, PASSWORD)


async def test_a_short_secret_stops_the_start_up(
    open_driver: OpenDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked when the application starts, not at the first forgot-password, whose failure
    would only show as mails that never go out."""
    driver = await open_driver("swapped")
    monkeypatch.setattr(manager_class(driver), "reset_password_token_secret", "SECRET")
    app = driver.example.app
    with pytest.raises(InsecureSecretError, match="at least 32 bytes"):
        async with app.router.lifespan_context(app):
            pass


async def test_the_settings_are_bound_at_start_up(open_driver: OpenDriver) -> None:
    """The start-up binds the manager's secret and lifetime: a strategy bound at start-up
    refuses a second binding with other settings."""
    strategy = JWTResetTokenStrategy()
    driver = await open_driver("swapped", token_strategy=strategy)
    app = driver.example.app
    async with app.router.lifespan_context(app):
        with pytest.raises(StrategyAlreadyBoundError):
            strategy.bind("another secret that is long enough for hs256 ....", 3600)


class WrappedUserDatabase(BaseUserDatabase[Any, Any]):
    """Another adapter (as Beanie's would be): it offers no compare-and-set."""

    def __init__(self, inner: BaseUserDatabase[Any, Any]) -> None:
        self.inner = inner

    async def get(self, id: Any) -> Any:
        return await self.inner.get(id)

    async def get_by_email(self, email: str) -> Any:
        return await self.inner.get_by_email(email)

    async def update(self, user: Any, update_dict: dict[str, Any]) -> Any:
        return await self.inner.update(user, update_dict)


async def test_an_adapter_without_compare_and_set_refuses_the_reset(
    open_driver: OpenDriver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A reset that cannot be made single-use is not made: 500 RESET_PASSWORD_NOT_SAVED, the
    log names the adapter, the password is unchanged and the token still works."""
    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    cls = manager_class(driver)
    original_init = cls.__init__

    def wrapping_init(self: Any, user_db: Any, hooks: Any, policy: Any) -> None:
        original_init(self, WrappedUserDatabase(user_db), hooks, policy)

    monkeypatch.setattr(cls, "__init__", wrapping_init)
    token = await driver.reset_token(EMAIL)
    refused = await driver.reset(token)
    assert refused.status_code == 500
    assert refused.json() == {"detail": "RESET_PASSWORD_NOT_SAVED"}
    assert "WrappedUserDatabase is not supported" in caplog.text
    assert await driver.password_works(EMAIL, PASSWORD)
    checked = await driver.client.post("/auth/reset-password/validate", json={"token": token})
    assert checked.status_code == 200


async def test_the_reset_hook_sees_the_stored_user(
    open_driver: OpenDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """on_after_reset_password gets the user with its new hash, as fastapi-users gives it."""
    driver = await open_driver("swapped")
    await driver.register(EMAIL)
    seen: list[str] = []

    async def on_after_reset_password(self: Any, user: Any, request: Any = None) -> None:
        seen.append(user.hashed_password)

    monkeypatch.setattr(manager_class(driver), "on_after_reset_password", on_after_reset_password)
    token = await driver.reset_token(EMAIL)
    assert (await driver.reset(token)).status_code == 200
    table = driver.user_table
    async with driver.example.database.sessions() as session:
        stored = await session.scalar(select(table.hashed_password))
    assert seen == [stored]


async def one_connection_pool(driver: Driver) -> None:
    """The example's database behind a pool of one connection that waits 2 s at most."""
    database = driver.example.database
    await database.engine.dispose()
    # The pool class named: SQLAlchemy before 2.0.38 gives a file SQLite no pool at all.
    database.engine = create_async_engine(
        database.url,
        poolclass=AsyncAdaptedQueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=2,
    )
    database.sessions = async_sessionmaker(database.engine, expire_on_commit=False)


async def test_a_slow_mail_hook_holds_no_database_connection(
    open_driver: OpenDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the mail hook waits, the application's own requests get the connection: the
    lookup's went back to the pool before the hook was called. With a pool of one, a held
    connection would make the log-in below time out."""
    driver = await open_driver("swapped")
    await one_connection_pool(driver)
    await driver.register(EMAIL)
    mailing, release = asyncio.Event(), asyncio.Event()

    async def slow_mail(self: Any, user: Any, token: str, request: Any = None) -> None:
        mailing.set()
        await release.wait()

    monkeypatch.setattr(manager_class(driver), "on_after_forgot_password", slow_mail)
    forgot = await driver.client.post("/auth/forgot-password", json={"email": EMAIL})
    assert forgot.status_code == 202
    await asyncio.wait_for(mailing.wait(), 5)
    login = await asyncio.wait_for(driver.login(EMAIL), 5)
    assert login.status_code == 200
    release.set()
    await driver.example.settle()


async def test_the_reset_hook_has_a_live_manager_of_its_own(
    open_driver: OpenDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """on_after_reset_password runs after the request's session closed: it gets a manager
    whose database works, and whose connection is returned when it ends (a pool of one)."""
    driver = await open_driver("swapped")
    await one_connection_pool(driver)
    await driver.register(EMAIL)
    reread: list[str] = []

    async def audit(self: Any, user: Any, request: Any = None) -> None:
        stored = await self.user_db.get(user.id)
        reread.append(stored.hashed_password)

    monkeypatch.setattr(manager_class(driver), "on_after_reset_password", audit)
    token = await driver.reset_token(EMAIL)
    assert (await driver.reset(token)).status_code == 200
    assert len(reread) == 1 and reread[0].startswith("$argon2")
    assert await asyncio.wait_for(driver.password_works(EMAIL, NEW_PASSWORD), 5)
