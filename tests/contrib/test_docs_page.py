"""The samples of docs/fastapi-users.md run, with fastapi-users installed."""

from __future__ import annotations

import sys
import types
from typing import Any

import httpx
import pytest

from tests.conftest import SECRET
from tests.doc_programs import FASTAPI_USERS_PAGE, README, python_blocks
from tests.redis_servers import RedisServer

pytestmark = pytest.mark.anyio


async def test_the_pages_samples_build_an_application_that_resets(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer, tmp_path: Any
) -> None:
    """Run top to bottom as a reader would paste them; then the application they built
    registers a user and answers a forgot-password."""
    monkeypatch.chdir(tmp_path)  # the sample's SQLite file lands here
    monkeypatch.setenv("SECRET", SECRET)
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    blocks = python_blocks(FASTAPI_USERS_PAGE)
    assert len(blocks) >= 3
    # A module of its own: pydantic looks generic models' modules up in sys.modules.
    module = types.ModuleType("docs_fastapi_users")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    for block in blocks:
        exec(compile(block, str(FASTAPI_USERS_PAGE), "exec"), namespace)  # noqa: S102
    async with namespace["engine"].begin() as connection:
        await connection.run_sync(namespace["Base"].metadata.create_all)
    app = namespace["app"]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        registered = await client.post(
            "/auth/register", json={"email": "a@example.com", "password": "old password"}
        )
        assert registered.status_code == 201
        forgot = await client.post("/auth/forgot-password", json={"email": "a@example.com"})
        assert forgot.status_code == 202
        assert forgot.json() is None
    await namespace["engine"].dispose()


async def test_the_readmes_swap_runs_on_the_pages_application(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The README's one-line change, pasted after the page's application, serves the route."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SECRET", SECRET)
    module = types.ModuleType("docs_fastapi_users_readme")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    application, readme_swap = (
        python_blocks(FASTAPI_USERS_PAGE)[0],
        python_blocks(README)[1],
    )
    for block in (application, readme_swap):
        exec(compile(block, "README.md", "exec"), module.__dict__)  # noqa: S102
    app = module.app
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
        forgot = await client.post("/auth/forgot-password", json={"email": "a@example.com"})
        assert forgot.status_code == 202
    await module.engine.dispose()
