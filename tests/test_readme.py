"""The README's code runs as shown and gives the flow it describes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2.profiles import CHEAPEST

from fastapi_password_reset import PasswordHelper
from tests.conftest import SECRET

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.mark.anyio
async def test_the_quickstart_runs_and_serves_the_reset_flow(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exec the quickstart, then register, forgot, reset and log in against its app."""
    [quickstart] = python_blocks(README.read_text())
    monkeypatch.setenv("SECRET", SECRET)
    namespace: dict[str, Any] = {"__name__": "readme_quickstart"}
    exec(compile(quickstart, str(README), "exec"), namespace)  # noqa: S102 - our own README
    users = namespace["fastapi_users"]
    users.password_helper = PasswordHelper(CHEAPEST)
    # Routers captured the helper when built; rebuilding is what an app would do at startup.
    tokens: list[str] = []
    namespace["on_after_forgot_password"] = lambda user, token, request: tokens.append(token)
    app_part = "app = FastAPI()" + quickstart.split("app = FastAPI()")[1]
    exec(compile(app_part, str(README), "exec"), namespace)  # noqa: S102
    app = namespace["app"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://readme") as client:
        email = "reader@example.com"
        await client.post("/auth/register", json={"email": email, "password": "first pass"})
        assert (
            await client.post("/auth/forgot-password", json={"email": email})
        ).status_code == 202
        await users.background.drain()
        reset = await client.post(
            "/auth/reset-password", json={"token": tokens[0], "password": "second pass"}
        )
        assert reset.status_code == 200
        await users.background.drain()
        login = await client.post(
            "/auth/jwt/login", data={"username": email, "password": "second pass"}
        )
        assert login.status_code == 200
    assert f"{email} has reset their password" in capsys.readouterr().out


def test_the_readme_names_both_make_targets() -> None:
    """README shows `make demo` and `make test`."""
    text = README.read_text()
    assert "make demo" in text
    assert "make test" in text
