"""The README's code runs as shown and gives the flow it describes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2.profiles import CHEAPEST
from fastapi import FastAPI

from fastapi_password_reset import PasswordHelper
from tests.conftest import SECRET
from tests.doc_programs import README, ROOT, programs, python_blocks
from tests.redis_servers import RedisServer


def run(code: str, namespace: dict[str, Any]) -> None:
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our own README


def run_quickstart(name: str) -> tuple[dict[str, Any], list[str]]:
    """The quickstart's names, with cheap hashing and a hook that keeps the tokens it gets."""
    namespace: dict[str, Any] = {"__name__": name}
    run(python_blocks(README)[0], namespace)
    namespace["fastapi_users"].password_helper = PasswordHelper(CHEAPEST)
    tokens: list[str] = []
    namespace["on_after_forgot_password"] = lambda user, token, request: tokens.append(token)
    return namespace, tokens


def test_the_readmes_quickstart_is_the_quickstart_pages_program() -> None:
    """One program: docs/quickstart.md walks it further (a used link, a log-in)."""
    assert programs(README)["app.py"] == programs(ROOT / "docs" / "quickstart.md")["app.py"]


@pytest.mark.parametrize("page", [ROOT / "docs" / "quickstart.md", README], ids=lambda p: p.name)
def test_the_mail_hook_shows_the_link(page: Path) -> None:
    """The program's hook prints the link with its token, so a reader can follow it."""
    assert "#token={token}" in programs(page)["app.py"]


def test_the_readme_names_both_make_targets() -> None:
    """README shows `make demo` and `make test`."""
    text = README.read_text()
    assert "make demo" in text
    assert "make test" in text


@pytest.mark.anyio
async def test_the_redis_and_revocation_samples_run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    redis_server: RedisServer,
) -> None:
    """The Redis router and the revocation code of the README, against a real redis-server."""
    # Block 1 swaps fastapi-users' router: tests/contrib/test_docs_page.py runs it.
    redis_sample, revocation_sample = python_blocks(README)[2:4]
    monkeypatch.setenv("SECRET", SECRET)
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    namespace, tokens = run_quickstart("readme_redis")
    users = namespace["fastapi_users"]
    # The Redis sample replaces the quickstart's reset router on a fresh application.
    namespace["app"] = app = FastAPI()
    app.include_router(users.get_register_router(), prefix="/auth")
    run(redis_sample, namespace)
    run(revocation_sample, namespace)
    reset_tokens = namespace["reset_tokens"]
    transport = httpx.ASGITransport(app=app)
    email = "redis.reader@example.com"
    async with httpx.AsyncClient(transport=transport, base_url="http://readme") as client:

        async def forgot() -> None:
            await client.post("/auth/forgot-password", json={"email": email})
            await users.background.drain()

        await client.post("/auth/register", json={"email": email, "password": "first pass"})
        await forgot()
        assert tokens[0].count(".") == 1
        reset = await client.post(
            "/auth/reset-password", json={"token": tokens[0], "password": "second pass"}
        )
        assert reset.status_code == 200
        await users.background.drain()
        await forgot()
        await forgot()  # within min_interval_seconds: no second token
        assert len(tokens) == 2
    user = await namespace["user_db"].get_by_email(email)
    await namespace["lock_account"](user, tokens[1])
    assert "revoked 1 tokens; the given one was outstanding: False" in capsys.readouterr().out
    await reset_tokens.redis.aclose()


@pytest.mark.anyio
async def test_the_sqlalchemy_sample_stores_users(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The SQLAlchemy sample, after the quickstart: its database stores and finds users."""
    monkeypatch.setenv("SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    namespace, _ = run_quickstart("readme_sql")
    run(python_blocks(README)[4], namespace)
    async with namespace["engine"].begin() as connection:
        await connection.run_sync(namespace["Base"].metadata.create_all)
    database = namespace["sql_user_db"]
    user = namespace["UserDB"](email="Sql.Reader@example.com", hashed_password="$argon2id$x")
    await database.create(user)
    assert await database.get_by_email("sql.reader@EXAMPLE.com") == user
    await namespace["engine"].dispose()
    assert (tmp_path / "users.db").exists()
